/**
 * The worker-configuration contract: {@link WorkerConfig} is every setting one worker process runs with, and
 * {@link WORKER_DEFAULTS} the one place of each default. The supervisor derives a complete one from the pool
 * configuration (`worker-config-of.ts`) and hands it to the forked worker whole (`worker-config-codec.ts`); the
 * flags of `m2pool worker` parse into the same type (`worker/options.ts`). docs/architecture.md, "The worker
 * contract".
 * @module
 */
import type { AppKind } from './app-kind';
import type { LogLevel } from './log-level';
import { int, MAX_TIMER_MS, type Check } from './checks';
import { DEFAULT_UPLOAD_THRESHOLD } from './upload-template';

/** Where a dispatch-topology worker connects, and its CURVE key files for a tcp:// endpoint. */
export interface DispatcherEndpoint {
  /** The dispatcher's endpoint: `ipc://PATH` or `tcp://HOST:PORT`. */
  readonly endpoint: string;
  /** The dispatcher's public key file (tcp:// only; goes with `curveSecretFile`). */
  readonly curveServerKeyFile?: string;
  /** This worker's secret key file; its public key is derived from it. */
  readonly curveSecretFile?: string;
  /**
   * Talk plaintext to a `tcp://` dispatcher without CURVE keys (anyone on the path can read the requests and
   * forge replies). Without it such an endpoint is refused: {@link dispatcherEndpointProblem}. @default false
   */
  readonly insecure?: boolean;
}

/**
 * The problem with connecting to `d`, or undefined: a `tcp://` dispatcher without CURVE keys is refused unless
 * `insecure` says so, the worker-side twin of the dispatcher refusing such a bind. `flags`
 * names the settings as `m2pool worker` flags, else as configuration keys.
 */
export function dispatcherEndpointProblem(d: DispatcherEndpoint, flags: boolean): string | undefined {
  if (!d.endpoint.startsWith('tcp://') || d.curveServerKeyFile !== undefined || d.insecure === true) return undefined;
  const how = flags ? '--curve-server-key-file and --curve-secret-file (m2pool keygen), or --insecure' : 'curveServerKeyFile and curveSecretFile (m2pool keygen), or insecure';
  return `refusing to connect to ${d.endpoint} without CURVE keys (requests and replies would cross the network in plaintext): give ${how}`;
}

/** Everything one worker process needs. Plain data (it travels as JSON); absent optional keys mean "none". */
export interface WorkerConfig {
  /** Module exporting `app` (an m2pool App), resolved from the worker's working directory. Required. */
  readonly app: string;
  /** Which kind of app the module exports (`auto`: told apart by its shape). Absent: auto. */
  readonly appKind?: AppKind;
  /** Direct topology: Mongrel2 `send_spec`s a PULL connects to, one per Mongrel2; empty with `dispatcher`. */
  readonly sendSpecs: readonly string[];
  /** Direct topology: Mongrel2 `recv_spec`s an XPUB connects to, same count and order as `sendSpecs`. */
  readonly recvSpecs: readonly string[];
  /** Dispatch topology: the pool dispatcher to ask for work (instead of `sendSpecs`/`recvSpecs`). */
  readonly dispatcher?: DispatcherEndpoint;
  /** Requests handled at once; at the cap the worker stops reading (its grant, in dispatch). */
  readonly maxInFlight: number;
  /**
   * ZeroMQ receive high-water mark of the request socket: what libzmq may park for this worker beyond what it
   * reads (direct: lost on a scale-down or crash, docs/zeromq.md §6.1).
   */
  readonly receiveHwm: number;
  /** Default request deadline (routes may override; 504 on expiry). Absent: the app's own (30000). */
  readonly requestTimeoutMs?: number;
  /**
   * Largest message accepted from Mongrel2 (ZeroMQ's maximum message size; a peer sending more is disconnected).
   * Absent: derived from Mongrel2's limits, `mongrel2MessageBytes(uploadThreshold)` (`config/message-limits.ts`).
   */
  readonly maxRequestBytes?: number;
  /** On stop, how long in-flight requests may take before they are answered 503. */
  readonly drainTimeoutMs: number;
  /** Give up (exit 3) if the transport is not ready within this time. */
  readonly bootTimeoutMs: number;
  /** Heartbeat period towards the supervisor (only when forked by it). */
  readonly heartbeatIntervalMs: number;
  /** How long a reply may wait for the socket before it is reported as failed. */
  readonly sendTimeoutMs: number;
  /** Mongrel2's `upload.temp_store` template (`…/upload.XXXXXX`). Absent: async uploads are refused. */
  readonly uploadStore?: string;
  /** Mongrel2's `limits.content_length`: an upload notice must declare more than this (or be chunked). */
  readonly uploadThreshold: number;
  /** Largest async upload accepted (larger ones get 413); read into memory unless it is multipart/form-data (parsed from disk). */
  readonly maxUploadBytes: number;
  /** Log level of the worker process. */
  readonly logLevel: LogLevel;
  /** Level of the one-line-per-request log. */
  readonly requestLogLevel: LogLevel;
  /** `off` stops request metrics (to measure their cost); they are only pushed when forked by a supervisor. */
  readonly metrics: 'on' | 'off';
}

/** The settings that have a default: all but the app, the endpoints and the optional ones. */
export type WorkerDefaults = Omit<WorkerConfig, 'app' | 'appKind' | 'sendSpecs' | 'recvSpecs' | 'dispatcher' | 'requestTimeoutMs' | 'maxRequestBytes' | 'uploadStore'>;

/**
 * Every worker default, frozen: what a worker run by hand gets for a flag it is not given, and what the
 * supervisor fills in for a key the pool configuration leaves unset (`workerConfigOf`). The pool has defaults of
 * its own for the settings it also uses itself (`bootTimeoutMs`: the supervisor waits 30 s, see `schema.ts`).
 */
export const WORKER_DEFAULTS: WorkerDefaults = Object.freeze({
  maxInFlight: 64,
  receiveHwm: 16,
  drainTimeoutMs: 30_000,
  bootTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  sendTimeoutMs: 5_000,
  uploadThreshold: DEFAULT_UPLOAD_THRESHOLD,
  maxUploadBytes: 64 * 1024 * 1024,
  logLevel: 'info',
  requestLogLevel: 'debug',
  metrics: 'on',
});

/** The numeric settings of {@link WorkerConfig}. */
export type WorkerNumberKey = 'maxInFlight' | 'receiveHwm' | 'requestTimeoutMs' | 'maxRequestBytes' | 'drainTimeoutMs' | 'bootTimeoutMs' | 'heartbeatIntervalMs' | 'sendTimeoutMs' | 'uploadThreshold' | 'maxUploadBytes';

/** Inclusive range of a numeric setting. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/** The accepted range of each numeric setting, wherever it arrives (flag, pool config, handed-over config). */
export const WORKER_LIMITS: Readonly<Record<WorkerNumberKey, IntRange>> = Object.freeze({
  maxInFlight: { min: 1, max: 100_000 },
  receiveHwm: { min: 1, max: 1_000_000 },
  requestTimeoutMs: { min: 1, max: MAX_TIMER_MS },
  // Below this even a small request with Mongrel2's headers would not fit.
  maxRequestBytes: { min: 65_536, max: 2 ** 31 },
  drainTimeoutMs: { min: 0, max: MAX_TIMER_MS },
  bootTimeoutMs: { min: 1, max: MAX_TIMER_MS },
  heartbeatIntervalMs: { min: 10, max: MAX_TIMER_MS },
  sendTimeoutMs: { min: 1, max: MAX_TIMER_MS },
  uploadThreshold: { min: 0, max: Number.MAX_SAFE_INTEGER },
  maxUploadBytes: { min: 0, max: Number.MAX_SAFE_INTEGER },
});

/** The check of numeric setting `key`: an integer in its {@link WORKER_LIMITS} range. */
export function workerNumber(key: WorkerNumberKey): Check<number> {
  return int(WORKER_LIMITS[key].min, WORKER_LIMITS[key].max);
}

/** The worker settings a pool configuration may set; unset ones take {@link WORKER_DEFAULTS}. */
export type WorkerPassThrough = Partial<Pick<WorkerConfig, 'appKind' | 'maxInFlight' | 'receiveHwm' | 'requestTimeoutMs' | 'maxRequestBytes' | 'uploadStore' | 'uploadThreshold' | 'requestLogLevel' | 'metrics'>>;
