/**
 * `m2pool worker` flags, parsed onto the worker-configuration contract (`WorkerConfig`, `config/worker-config.ts`;
 * docs/architecture.md, "The worker contract"). A worker the supervisor forks finds its whole configuration in
 * `M2POOL_WORKER_CONFIG`; flags given on the command line win over it. A worker run by hand gets
 * `WORKER_DEFAULTS` for every flag it is not given.
 * @module
 */
import { posix } from 'node:path';
import { workerEndpoint } from '../config/checks';
import { FlagReader, type FlagSpecs, type FlagValues } from '../config/flags';
import { APP_KINDS } from '../config/app-kind';
import { LOG_FORMAT_FLAG } from '../log/log-format';
import { LOG_LEVELS } from '../config/log-level';
import { DEFAULT_UPLOAD_BASENAME, parseUploadStore } from '../config/upload-template';
import { decodeWorkerConfig, WORKER_CONFIG_ENV } from '../config/worker-config-codec';
import { dispatcherEndpointProblem, WORKER_DEFAULTS, WORKER_LIMITS, type DispatcherEndpoint, type WorkerConfig, type WorkerDefaults, type WorkerNumberKey } from '../config/worker-config';
import { ConfigError } from '../errors';
import { MONGREL2_CONFIG_FLAG, mongrel2Endpoints } from '../config/mongrel2-endpoints';

/** The settings `runWorker` takes: the worker configuration itself (kept as a name for embedders). */
export type WorkerOptions = WorkerConfig;

/** Flags of `m2pool worker`. */
export const WORKER_FLAGS: FlagSpecs = {
  app: { type: 'string', placeholder: 'module', description: 'module exporting `app` or a default export: an m2pool App, a fetch(Request) app (Hono) or a node (req, res) listener (Express); resolved from the current directory' },
  'app-kind': { type: 'string', placeholder: 'kind', description: `which kind of app --app exports: ${APP_KINDS.join(', ')} (auto tells them apart by shape)`, defaultText: 'auto' },
  'send-spec': { type: 'string', multiple: true, placeholder: 'endpoint', description: "Mongrel2 handler send_spec to PULL requests from, e.g. tcp://127.0.0.1:9997" },
  'recv-spec': { type: 'string', multiple: true, placeholder: 'endpoint', description: "Mongrel2 handler recv_spec to PUB replies to; the i-th pairs with the i-th --send-spec" },
  'mongrel2-config': MONGREL2_CONFIG_FLAG,
  dispatcher: { type: 'string', placeholder: 'endpoint', description: "the pool dispatcher's endpoint (ipc://PATH or tcp://HOST:PORT), instead of --send-spec/--recv-spec" },
  'curve-server-key-file': { type: 'string', placeholder: 'file', description: "the dispatcher's CURVE public key (.pub), for a tcp:// --dispatcher" },
  'curve-secret-file': { type: 'string', placeholder: 'file', description: "this worker's CURVE secret key (.key, m2pool keygen); its .pub must be in the dispatcher's authorized directory" },
  insecure: { type: 'boolean', description: 'allow a tcp:// --dispatcher without CURVE keys (anyone on the path can read requests and forge replies)' },
  'max-in-flight': { type: 'string', placeholder: 'n', description: 'requests handled at once; at the cap the worker stops reading', defaultText: String(WORKER_DEFAULTS.maxInFlight) },
  'receive-hwm': { type: 'string', placeholder: 'n', description: 'ZeroMQ receive high-water mark of the request socket', defaultText: String(WORKER_DEFAULTS.receiveHwm) },
  'request-timeout-ms': { type: 'string', placeholder: 'ms', description: "default request deadline (routes may override); on expiry the client gets 504", defaultText: "the app's (30000)" },
  'max-request-bytes': { type: 'string', placeholder: 'bytes', description: "largest message accepted from Mongrel2 or, per request, from the dispatcher; a peer sending more is disconnected (at least the app's largest WebSocket maxMessageBytes)", defaultText: "from Mongrel2's limits: max(--upload-threshold, 1 MiB) + 96 KiB" },
  'drain-timeout-ms': { type: 'string', placeholder: 'ms', description: 'on stop, how long in-flight requests may take before they are answered 503', defaultText: String(WORKER_DEFAULTS.drainTimeoutMs) },
  'boot-timeout-ms': { type: 'string', placeholder: 'ms', description: 'give up (exit 3) if Mongrel2 is not connected within this time', defaultText: String(WORKER_DEFAULTS.bootTimeoutMs) },
  'heartbeat-interval-ms': { type: 'string', placeholder: 'ms', description: 'heartbeat period towards the supervisor (only when forked by it)', defaultText: String(WORKER_DEFAULTS.heartbeatIntervalMs) },
  'send-timeout-ms': { type: 'string', placeholder: 'ms', description: 'how long a reply may wait for the socket before it is reported as failed', defaultText: String(WORKER_DEFAULTS.sendTimeoutMs) },
  'upload-store': { type: 'string', placeholder: 'template', description: "Mongrel2's upload.temp_store, e.g. /srv/run/tmp/upload.XXXXXX; only files it can name are read and unlinked", defaultText: 'uploads refused' },
  'upload-dir': { type: 'string', placeholder: 'dir', description: 'shorthand for --upload-store DIR/upload.XXXXXX (--upload-store wins when both are given)', defaultText: 'uploads refused' },
  'upload-threshold': { type: 'string', placeholder: 'bytes', description: "Mongrel2's limits.content_length: an upload notice must declare more than this (or chunked)", defaultText: String(WORKER_DEFAULTS.uploadThreshold) },
  'max-upload-bytes': { type: 'string', placeholder: 'n', description: 'largest async upload accepted (413 above); read into memory unless multipart/form-data, which is parsed from disk', defaultText: String(WORKER_DEFAULTS.maxUploadBytes) },
  'log-level': { type: 'string', placeholder: 'level', description: `log level: ${LOG_LEVELS.join(', ')}`, defaultText: WORKER_DEFAULTS.logLevel },
  'log-format': LOG_FORMAT_FLAG,
  'request-log-level': { type: 'string', placeholder: 'level', description: 'level of the one-line-per-request log', defaultText: WORKER_DEFAULTS.requestLogLevel },
  metrics: { type: 'string', placeholder: 'on|off', description: 'record request metrics and push them to the supervisor (only when forked by it)', defaultText: WORKER_DEFAULTS.metrics },
};

/**
 * Turn parsed flags into a worker configuration; throws one UsageError listing every problem.
 * @param handed the text of `M2POOL_WORKER_CONFIG` when forked by a supervisor: the base the flags override.
 */
export function readWorkerConfig(values: FlagValues, handed?: string): WorkerConfig {
  const r = new FlagReader(values);
  const base = handed === undefined ? undefined : readHanded(handed, r);
  r.check();
  const d: WorkerDefaults = base ?? WORKER_DEFAULTS;
  const intFlag = (flag: string, key: keyof WorkerDefaults & WorkerNumberKey): number => r.int(flag, d[key], WORKER_LIMITS[key].min, WORKER_LIMITS[key].max);
  const { min, max } = WORKER_LIMITS.requestTimeoutMs;
  const requestTimeoutMs = values['request-timeout-ms'] === undefined ? base?.requestTimeoutMs : r.int('request-timeout-ms', 0, min, max);
  const bytes = WORKER_LIMITS.maxRequestBytes;
  const maxRequestBytes = values['max-request-bytes'] === undefined ? base?.maxRequestBytes : r.int('max-request-bytes', 0, bytes.min, bytes.max);
  const uploadStore = readUploadTemplate(r) ?? base?.uploadStore;
  const config: WorkerConfig = {
    app: base === undefined || values['app'] !== undefined ? r.required('app') : base.app,
    ...readAppKind(r, base),
    ...readEndpoints(r, base),
    maxInFlight: intFlag('max-in-flight', 'maxInFlight'),
    receiveHwm: intFlag('receive-hwm', 'receiveHwm'),
    ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
    ...(maxRequestBytes === undefined ? {} : { maxRequestBytes }),
    drainTimeoutMs: intFlag('drain-timeout-ms', 'drainTimeoutMs'),
    bootTimeoutMs: intFlag('boot-timeout-ms', 'bootTimeoutMs'),
    heartbeatIntervalMs: intFlag('heartbeat-interval-ms', 'heartbeatIntervalMs'),
    sendTimeoutMs: intFlag('send-timeout-ms', 'sendTimeoutMs'),
    ...(uploadStore === undefined ? {} : { uploadStore }),
    uploadThreshold: intFlag('upload-threshold', 'uploadThreshold'),
    maxUploadBytes: intFlag('max-upload-bytes', 'maxUploadBytes'),
    logLevel: r.choice('log-level', LOG_LEVELS, d.logLevel),
    requestLogLevel: r.choice('request-log-level', LOG_LEVELS, d.requestLogLevel),
    metrics: r.choice('metrics', ['on', 'off'] as const, d.metrics),
  };
  r.check();
  return config;
}

/** `--app-kind`, else the handed-over configuration's (absent: auto). */
function readAppKind(r: FlagReader, base: WorkerConfig | undefined): Pick<WorkerConfig, 'appKind'> {
  const kind = r.string('app-kind') === undefined ? base?.appKind : r.choice('app-kind', APP_KINDS, 'auto');
  return kind === undefined ? {} : { appKind: kind };
}

/** The handed-over configuration, or undefined with its problems recorded (a broken one is a usage error). */
function readHanded(text: string, r: FlagReader): WorkerConfig | undefined {
  try {
    return decodeWorkerConfig(text);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    r.issues.push(`${WORKER_CONFIG_ENV} (the configuration the supervisor handed over) is invalid:`, ...err.issues.map((i) => `  - ${i}`));
    return undefined;
  }
}

/** `--upload-store` (else `--upload-dir` DIR as DIR/upload.XXXXXX); a bad template is a usage problem. */
function readUploadTemplate(r: FlagReader): string | undefined {
  const dir = r.string('upload-dir');
  const template = r.string('upload-store') ?? (dir === undefined ? undefined : posix.join(dir, DEFAULT_UPLOAD_BASENAME));
  if (template === undefined) return undefined;
  try {
    parseUploadStore(template);
  } catch (err) {
    r.issues.push(err instanceof Error ? err.message : String(err));
  }
  return template;
}

/**
 * `--send-spec`/`--recv-spec` or `--dispatcher` with its CURVE files; without any of them, the handed-over
 * configuration's. A tcp:// dispatcher without keys is refused unless `--insecure`.
 */
function readEndpoints(r: FlagReader, base: WorkerConfig | undefined): Pick<WorkerConfig, 'sendSpecs' | 'recvSpecs' | 'dispatcher'> {
  const sendSpecs = r.list('send-spec');
  const recvSpecs = r.list('recv-spec');
  const given = ['dispatcher', 'curve-server-key-file', 'curve-secret-file'].some((f) => r.string(f) !== undefined) || r.flag('insecure');
  if (base !== undefined && !given && sendSpecs.length === 0 && recvSpecs.length === 0) {
    return { sendSpecs: base.sendSpecs, recvSpecs: base.recvSpecs, ...(base.dispatcher === undefined ? {} : { dispatcher: base.dispatcher }) };
  }
  const dispatcher = readDispatcherEndpoint(r);
  if (dispatcher !== undefined) {
    if (sendSpecs.length > 0 || recvSpecs.length > 0) r.issues.push('--dispatcher and --send-spec/--recv-spec are mutually exclusive');
    return { sendSpecs, recvSpecs, dispatcher };
  }
  if (sendSpecs.length === 0 && recvSpecs.length === 0) return mongrel2Endpoints(r);
  if (sendSpecs.length !== recvSpecs.length) {
    r.issues.push(`each --send-spec needs a matching --recv-spec (got ${sendSpecs.length} and ${recvSpecs.length})`);
  }
  return { sendSpecs, recvSpecs };
}

/** `--dispatcher` and its CURVE files. */
function readDispatcherEndpoint(r: FlagReader): DispatcherEndpoint | undefined {
  const endpoint = r.string('dispatcher');
  const curveServerKeyFile = r.string('curve-server-key-file');
  const curveSecretFile = r.string('curve-secret-file');
  const insecure = r.flag('insecure');
  if (endpoint === undefined) {
    if (curveServerKeyFile !== undefined || curveSecretFile !== undefined || insecure) r.issues.push('--curve-server-key-file, --curve-secret-file and --insecure need --dispatcher');
    return undefined;
  }
  const checked = workerEndpoint(endpoint);
  if ('problem' in checked) r.issues.push(`--dispatcher ${checked.problem}`);
  if ((curveServerKeyFile === undefined) !== (curveSecretFile === undefined)) r.issues.push('--curve-server-key-file and --curve-secret-file go together');
  const d: DispatcherEndpoint = {
    endpoint,
    ...(curveServerKeyFile === undefined ? {} : { curveServerKeyFile }),
    ...(curveSecretFile === undefined ? {} : { curveSecretFile }),
    ...(insecure ? { insecure } : {}),
  };
  const unsafe = 'problem' in checked ? undefined : dispatcherEndpointProblem(d, true);
  if (unsafe !== undefined) r.issues.push(unsafe);
  return d;
}
