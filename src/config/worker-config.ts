/**
 * The worker-configuration contract: {@link WorkerConfig} is every setting one worker process runs with, and
 * {@link WORKER_DEFAULTS} its defaults (both from the settings table, `settings.ts`). The supervisor derives a complete one from the pool
 * configuration (`worker-config-of.ts`) and hands it to the forked worker whole (`worker-config-codec.ts`); the
 * flags of `m2pool worker` parse into the same type (`worker/options.ts`). docs/architecture.md, "The worker
 * contract".
 * @module
 */
import { defaultsOf, type WorkerDefaultedKey, type WorkerSettings } from './settings';

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

/**
 * Everything one worker process needs. Plain data (it travels as JSON); absent optional keys mean "none". The app
 * and the way to Mongrel2 are its own; every other key is a setting of the table with the `worker` scope
 * (`settings.ts`, which says what each means).
 */
export type WorkerConfig = WorkerSettings & {
  /** Module exporting `app` (an m2pool App), resolved from the worker's working directory. Required. */
  readonly app: string;
  /** Direct topology: Mongrel2 `send_spec`s a PULL connects to, one per Mongrel2; empty with `dispatcher`. */
  readonly sendSpecs: readonly string[];
  /** Direct topology: Mongrel2 `recv_spec`s an XPUB connects to, same count and order as `sendSpecs`. */
  readonly recvSpecs: readonly string[];
  /** Dispatch topology: the pool dispatcher to ask for work (instead of `sendSpecs`/`recvSpecs`). */
  readonly dispatcher?: DispatcherEndpoint;
};

/** The settings that have a default: all but the app, the endpoints and the optional ones. */
export type WorkerDefaults = Pick<WorkerSettings, WorkerDefaultedKey>;

/**
 * Every worker default, frozen: what a worker run by hand gets for a flag it is not given, and what the
 * supervisor fills in for a key the pool configuration leaves unset (`workerConfigOf`). The pool has defaults of
 * its own for the settings it also uses itself (`bootTimeoutMs`: the supervisor waits 30 s).
 */
export const WORKER_DEFAULTS = defaultsOf('worker') as WorkerDefaults;
