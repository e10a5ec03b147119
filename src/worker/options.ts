/**
 * `m2pool worker` flags and the resolved worker options.
 * @module
 */
import type { LevelWithSilent } from 'pino';
import { FlagReader, type FlagSpecs, type FlagValues } from '../config/flags';
import { LOG_LEVELS } from '../log/logger';
import { DEFAULT_UPLOAD_THRESHOLD, parseUploadStore, uploadStoreOfDir, type UploadStore } from './upload-store';

/** Everything one worker process needs. */
export interface WorkerOptions {
  readonly app: string;
  readonly sendSpecs: readonly string[];
  readonly recvSpecs: readonly string[];
  /** The dispatcher's endpoint (dispatch topology); exclusive with send/recv specs. */
  readonly dispatcher?: DispatcherEndpoint | undefined;
  readonly maxInFlight: number;
  readonly receiveHwm: number;
  readonly requestTimeoutMs: number | undefined;
  readonly drainTimeoutMs: number;
  readonly bootTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly sendTimeoutMs: number;
  /** Mongrel2's upload.temp_store (from --upload-store, or --upload-dir DIR as DIR/upload.XXXXXX); unset = uploads refused. */
  readonly uploadStore: UploadStore | undefined;
  readonly maxUploadBytes: number;
  readonly logLevel: LevelWithSilent;
  readonly requestLogLevel: LevelWithSilent;
  /** Record request metrics and push them to the supervisor. */
  readonly metrics: boolean;
}

/** Where a dispatch-topology worker connects, and its CURVE key files for a tcp:// endpoint. */
export interface DispatcherEndpoint {
  readonly endpoint: string;
  /** The dispatcher's public key file. */
  readonly curveServerKeyFile?: string | undefined;
  /** This worker's secret key file (its public key is derived from it). */
  readonly curveSecretFile?: string | undefined;
}

/** Defaults, in one place. */
export const WORKER_DEFAULTS = {
  maxInFlight: 64,
  receiveHwm: 16,
  drainTimeoutMs: 30_000,
  bootTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  sendTimeoutMs: 5_000,
  maxUploadBytes: 64 * 1024 * 1024,
  logLevel: 'info',
  requestLogLevel: 'debug',
} as const;

/** Flags of `m2pool worker`. */
export const WORKER_FLAGS: FlagSpecs = {
  app: { type: 'string', placeholder: 'module', description: 'module exporting `app` (an m2pool App), resolved from the current directory' },
  'send-spec': { type: 'string', multiple: true, placeholder: 'endpoint', description: "Mongrel2 handler send_spec to PULL requests from, e.g. tcp://127.0.0.1:9997" },
  'recv-spec': { type: 'string', multiple: true, placeholder: 'endpoint', description: "Mongrel2 handler recv_spec to PUB replies to; the i-th pairs with the i-th --send-spec" },
  dispatcher: { type: 'string', placeholder: 'endpoint', description: "the pool dispatcher's endpoint (ipc://PATH or tcp://HOST:PORT), instead of --send-spec/--recv-spec" },
  'curve-server-key-file': { type: 'string', placeholder: 'file', description: "the dispatcher's CURVE public key (.pub), for a tcp:// --dispatcher" },
  'curve-secret-file': { type: 'string', placeholder: 'file', description: "this worker's CURVE secret key (.key, m2pool keygen); its .pub must be in the dispatcher's authorized directory" },
  'max-in-flight': { type: 'string', placeholder: 'n', description: 'requests handled at once; at the cap the worker stops reading', defaultText: String(WORKER_DEFAULTS.maxInFlight) },
  'receive-hwm': { type: 'string', placeholder: 'n', description: 'ZeroMQ receive high-water mark of the request socket', defaultText: String(WORKER_DEFAULTS.receiveHwm) },
  'request-timeout-ms': { type: 'string', placeholder: 'ms', description: "default request deadline (routes may override); on expiry the client gets 504", defaultText: "the app's (30000)" },
  'drain-timeout-ms': { type: 'string', placeholder: 'ms', description: 'on stop, how long in-flight requests may take before they are answered 503', defaultText: String(WORKER_DEFAULTS.drainTimeoutMs) },
  'boot-timeout-ms': { type: 'string', placeholder: 'ms', description: 'give up (exit 3) if Mongrel2 is not connected within this time', defaultText: String(WORKER_DEFAULTS.bootTimeoutMs) },
  'heartbeat-interval-ms': { type: 'string', placeholder: 'ms', description: 'heartbeat period towards the supervisor (only when forked by it)', defaultText: String(WORKER_DEFAULTS.heartbeatIntervalMs) },
  'send-timeout-ms': { type: 'string', placeholder: 'ms', description: 'how long a reply may wait for the socket before it is reported as failed', defaultText: String(WORKER_DEFAULTS.sendTimeoutMs) },
  'upload-store': { type: 'string', placeholder: 'template', description: "Mongrel2's upload.temp_store, e.g. /srv/run/tmp/upload.XXXXXX; only files it can name are read and unlinked", defaultText: 'uploads refused' },
  'upload-dir': { type: 'string', placeholder: 'dir', description: 'shorthand for --upload-store DIR/upload.XXXXXX (--upload-store wins when both are given)', defaultText: 'uploads refused' },
  'upload-threshold': { type: 'string', placeholder: 'bytes', description: "Mongrel2's limits.content_length: an upload notice must declare more than this (or chunked)", defaultText: String(DEFAULT_UPLOAD_THRESHOLD) },
  'max-upload-bytes': { type: 'string', placeholder: 'n', description: 'largest async upload read into memory; larger ones get 413', defaultText: String(WORKER_DEFAULTS.maxUploadBytes) },
  'log-level': { type: 'string', placeholder: 'level', description: `log level: ${LOG_LEVELS.join(', ')}, silent`, defaultText: WORKER_DEFAULTS.logLevel },
  'request-log-level': { type: 'string', placeholder: 'level', description: 'level of the one-line-per-request log', defaultText: WORKER_DEFAULTS.requestLogLevel },
  metrics: { type: 'string', placeholder: 'on|off', description: 'record request metrics and push them to the supervisor (only when forked by it)', defaultText: 'on' },
};

const LEVEL_CHOICES = [...LOG_LEVELS, 'silent'] as const;

/** Turn parsed flags into options; throws one UsageError listing every problem. */
export function readWorkerOptions(values: FlagValues): WorkerOptions {
  const r = new FlagReader(values);
  const app = r.required('app');
  const sendSpecs = r.list('send-spec');
  const recvSpecs = r.list('recv-spec');
  const dispatcher = readDispatcherEndpoint(r);
  if (dispatcher !== undefined) {
    if (sendSpecs.length > 0 || recvSpecs.length > 0) r.issues.push('--dispatcher and --send-spec/--recv-spec are mutually exclusive');
  } else {
    if (sendSpecs.length === 0) r.issues.push('at least one --send-spec (or a --dispatcher) is required');
    if (sendSpecs.length !== recvSpecs.length) {
      r.issues.push(`each --send-spec needs a matching --recv-spec (got ${sendSpecs.length} and ${recvSpecs.length})`);
    }
  }
  const options: WorkerOptions = {
    app,
    sendSpecs,
    recvSpecs,
    dispatcher,
    maxInFlight: r.int('max-in-flight', WORKER_DEFAULTS.maxInFlight, 1, 100_000),
    receiveHwm: r.int('receive-hwm', WORKER_DEFAULTS.receiveHwm, 1, 1_000_000),
    requestTimeoutMs: values['request-timeout-ms'] === undefined ? undefined : r.int('request-timeout-ms', 0, 1),
    drainTimeoutMs: r.int('drain-timeout-ms', WORKER_DEFAULTS.drainTimeoutMs, 0),
    bootTimeoutMs: r.int('boot-timeout-ms', WORKER_DEFAULTS.bootTimeoutMs, 1),
    heartbeatIntervalMs: r.int('heartbeat-interval-ms', WORKER_DEFAULTS.heartbeatIntervalMs, 10),
    sendTimeoutMs: r.int('send-timeout-ms', WORKER_DEFAULTS.sendTimeoutMs, 1),
    uploadStore: readUploadStore(r),
    maxUploadBytes: r.int('max-upload-bytes', WORKER_DEFAULTS.maxUploadBytes, 0),
    logLevel: r.choice('log-level', LEVEL_CHOICES, WORKER_DEFAULTS.logLevel),
    requestLogLevel: r.choice('request-log-level', LEVEL_CHOICES, WORKER_DEFAULTS.requestLogLevel),
    metrics: r.choice('metrics', ['on', 'off'] as const, 'on') === 'on',
  };
  r.check();
  return options;
}

/** `--upload-store` (else `--upload-dir`) with `--upload-threshold`; a bad template is a usage problem. */
function readUploadStore(r: FlagReader): UploadStore | undefined {
  const template = r.string('upload-store');
  const dir = r.string('upload-dir');
  const threshold = r.int('upload-threshold', DEFAULT_UPLOAD_THRESHOLD, 0);
  try {
    if (template !== undefined) return parseUploadStore(template, threshold);
    if (dir !== undefined) return uploadStoreOfDir(dir, threshold);
  } catch (err) {
    r.issues.push(err instanceof Error ? err.message : String(err));
  }
  return undefined;
}

/** `--dispatcher` and its CURVE files; a tcp:// endpoint without keys is refused (no --insecure on the worker side). */
function readDispatcherEndpoint(r: FlagReader): DispatcherEndpoint | undefined {
  const endpoint = r.string('dispatcher');
  const curveServerKeyFile = r.string('curve-server-key-file');
  const curveSecretFile = r.string('curve-secret-file');
  if (endpoint === undefined) {
    if (curveServerKeyFile !== undefined || curveSecretFile !== undefined) r.issues.push('--curve-server-key-file and --curve-secret-file need --dispatcher');
    return undefined;
  }
  if (!/^(ipc|tcp):\/\/.+/.test(endpoint)) r.issues.push(`--dispatcher must be ipc://PATH or tcp://HOST:PORT, got ${JSON.stringify(endpoint)}`);
  if ((curveServerKeyFile === undefined) !== (curveSecretFile === undefined)) r.issues.push('--curve-server-key-file and --curve-secret-file go together');
  return { endpoint, curveServerKeyFile, curveSecretFile };
}
