/**
 * `m2pool dispatcher` flags and {@link DispatcherOptions}, the settings `runDispatcher` takes (the supervisor fills
 * the same type when it forks the dispatcher).
 * @module
 */
import path from 'node:path';
import { adminAccessProblems, readTokenFile } from '../config/admin-token';
import { workerEndpoint } from '../config/checks';
import { MONGREL2_CONFIG_FLAG, mongrel2Endpoints } from '../config/mongrel2-endpoints';
import { applyLogFormatFlag, LOG_FORMAT_FLAG } from '../log/log-format';
import { FlagReader, type FlagSpecs, type FlagValues } from '../config/flags';
import { isLoopbackHost, parseHostPort, type HostPort } from '../config/host-port';
import { LOG_LEVELS, type LogLevel } from '../config/log-level';
import { DEFAULT_WORKER_MESSAGE_BYTES, mongrel2MessageBytes } from '../config/message-limits';
import { WORKER_LIMITS } from '../config/worker-config';

/** Everything one dispatcher process needs. */
export interface DispatcherOptions {
  /** Mongrel2 `send_spec`s (a PULL connects to each) … */
  readonly sendSpecs: readonly string[];
  /** … and their `recv_spec`s, same order (an XPUB connects to each). */
  readonly recvSpecs: readonly string[];
  /**
   * … and their Mongrel2 `control_port`s, same order, or none: after a predecessor crashed, the connections whose
   * requests died with it are closed through them (docs/runbook.md, "Dispatcher crash").
   */
  readonly controlSpecs: readonly string[];
  /** Where workers connect: `ipc://…` or `tcp://HOST:PORT`. */
  readonly bind: string;
  /** Receive high-water mark of each Mongrel2 PULL. */
  readonly receiveHwm: number;
  /** Largest message accepted from Mongrel2 (ZeroMQ's maximum message size of each PULL). */
  readonly maxRequestBytes: number;
  /** Largest message (batch frame) accepted from a worker; told to workers in WELCOME so they split below it. */
  readonly maxMessageBytes: number;
  /** Queued requests at which a new request is answered 503 with `Retry-After` at once instead of queued. */
  readonly queueLimit: number;
  /** Requests held waiting (queued or parked) at which the dispatcher stops reading from Mongrel2; ≥ `queueLimit`. */
  readonly backlogLimit: number;
  /** A request queued this long is answered 503 with `Retry-After`. */
  readonly queueTimeoutMs: number;
  /** Most credit (requests at once) one worker may claim; a larger HELLO capacity is cut to it. */
  readonly maxWorkerCredit: number;
  /** A request at a worker with no reply frame for this long is answered 504 (or closed); its late reply is dropped. */
  readonly requestTimeoutMs: number;
  /** How often workers PING. */
  readonly heartbeatIntervalMs: number;
  /** A worker silent this long is lost: its requests are retried or answered 503. */
  readonly heartbeatTimeoutMs: number;
  /** How long one reply may wait for its Mongrel2. */
  readonly sendTimeoutMs: number;
  /** On SIGTERM, how long in-flight requests may take before they are answered 503. */
  readonly drainTimeoutMs: number;
  /** `Retry-After` of the dispatcher's 503s, in seconds. */
  readonly retryAfterSeconds: number;
  /** File with the dispatcher's CURVE secret key (tcp endpoints). */
  readonly curveSecretFile?: string | undefined;
  /** Directory of `*.pub` files: the only workers accepted on a CURVE endpoint. */
  readonly curveAuthorizedDir?: string | undefined;
  /** Allow a `tcp://` bind without CURVE. */
  readonly insecure: boolean;
  /** Serve `/metrics`, `/healthz`, `/readyz` here (standalone use; a forked dispatcher reports over IPC). */
  readonly admin?: HostPort | undefined;
  /**
   * Bearer token `/metrics` needs ('' = none); required, at least 16 characters, when `admin` is not loopback —
   * the pool's rules (`config/admin-token.ts`). From `--admin-token` or `--admin-token-file`. @default ''
   */
  readonly adminToken: string;
  /** A second token that opens `/metrics` too (a scraper's, so it need not hold the admin token). @default '' */
  readonly metricsToken: string;
  readonly logLevel: LogLevel;
}

/** Defaults, in one place. */
export const DISPATCHER_DEFAULTS = {
  runDir: 'run',
  receiveHwm: 100,
  maxRequestBytes: mongrel2MessageBytes(),
  maxMessageBytes: DEFAULT_WORKER_MESSAGE_BYTES,
  queueLimit: 1_000,
  /** Four times the queue limit (unless given: see {@link readDispatcherOptions}). */
  backlogLimit: 4_000,
  queueTimeoutMs: 30_000,
  maxWorkerCredit: 1_024,
  /** Above the app's default request deadline (`DEFAULT_REQUEST_TIMEOUT_MS`, 30 s), so the app answers first. */
  requestTimeoutMs: 60_000,
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 3_000,
  sendTimeoutMs: 5_000,
  drainTimeoutMs: 30_000,
  retryAfterSeconds: 1,
  logLevel: 'info',
} as const;

/** The default worker endpoint: a socket in the run directory. */
export function defaultBind(runDir: string): string {
  return `ipc://${path.resolve(runDir, 'dispatch.sock')}`;
}

/** Flags of `m2pool dispatcher`. */
export const DISPATCHER_FLAGS: FlagSpecs = {
  'send-spec': { type: 'string', multiple: true, placeholder: 'endpoint', description: 'Mongrel2 handler send_spec to PULL requests from' },
  'recv-spec': { type: 'string', multiple: true, placeholder: 'endpoint', description: 'Mongrel2 handler recv_spec to publish replies to; the i-th pairs with the i-th --send-spec' },
  'control-spec': { type: 'string', multiple: true, placeholder: 'endpoint', description: "Mongrel2 control_port of the i-th --send-spec's server: after a dispatcher crash, it lists the connections whose requests died with it, which then get 503 or are closed", defaultText: 'none' },
  bind: { type: 'string', placeholder: 'endpoint', description: 'where workers connect: ipc://PATH, or tcp://HOST:PORT (needs CURVE keys or --insecure)', defaultText: 'ipc://RUN_DIR/dispatch.sock' },
  'run-dir': { type: 'string', placeholder: 'dir', description: 'directory of the default ipc endpoint', defaultText: DISPATCHER_DEFAULTS.runDir },
  'receive-hwm': { type: 'string', placeholder: 'n', description: 'receive high-water mark of each Mongrel2 request socket (what a dispatcher crash can lose per server, beyond the queue)', defaultText: String(DISPATCHER_DEFAULTS.receiveHwm) },
  'max-request-bytes': { type: 'string', placeholder: 'bytes', description: "largest message accepted from Mongrel2; ZeroMQ disconnects a peer that sends more (at least the app's largest WebSocket maxMessageBytes)", defaultText: `${DISPATCHER_DEFAULTS.maxRequestBytes}: Mongrel2's default content_length or a 1 MiB WebSocket message, plus headers` },
  'max-message-bytes': { type: 'string', placeholder: 'bytes', description: "largest message accepted from a worker (its biggest reply in one piece); workers split their batches below it, a peer sending more is disconnected", defaultText: `${DISPATCHER_DEFAULTS.maxMessageBytes} (64 MiB)` },
  'queue-limit': { type: 'string', placeholder: 'n', description: 'requests queued while no worker has credit; beyond it new requests get 503 with Retry-After at once', defaultText: String(DISPATCHER_DEFAULTS.queueLimit) },
  'backlog-limit': { type: 'string', placeholder: 'n', description: 'requests held waiting (queued, or behind a leaving worker) at which the dispatcher stops reading from Mongrel2 (memory bound; at least --queue-limit)', defaultText: '4 × --queue-limit' },
  'queue-timeout-ms': { type: 'string', placeholder: 'ms', description: 'a request queued this long gets 503 with Retry-After', defaultText: String(DISPATCHER_DEFAULTS.queueTimeoutMs) },
  'max-worker-credit': { type: 'string', placeholder: 'n', description: 'most requests one worker may claim to take at once; a larger claim is cut to it', defaultText: String(DISPATCHER_DEFAULTS.maxWorkerCredit) },
  'request-timeout-ms': { type: 'string', placeholder: 'ms', description: 'a request at a worker with no reply for this long gets 504 (WebSocket/JSON/XML: a close); keep it above the longest route deadline', defaultText: String(DISPATCHER_DEFAULTS.requestTimeoutMs) },
  'heartbeat-interval-ms': { type: 'string', placeholder: 'ms', description: 'how often workers PING the dispatcher', defaultText: String(DISPATCHER_DEFAULTS.heartbeatIntervalMs) },
  'heartbeat-timeout-ms': { type: 'string', placeholder: 'ms', description: 'a worker silent this long is lost: its requests are retried or answered 503', defaultText: String(DISPATCHER_DEFAULTS.heartbeatTimeoutMs) },
  'send-timeout-ms': { type: 'string', placeholder: 'ms', description: 'how long a reply may wait for its Mongrel2 before it counts as failed', defaultText: String(DISPATCHER_DEFAULTS.sendTimeoutMs) },
  'drain-timeout-ms': { type: 'string', placeholder: 'ms', description: 'on SIGTERM, how long in-flight requests may take before they are answered 503', defaultText: String(DISPATCHER_DEFAULTS.drainTimeoutMs) },
  'retry-after': { type: 'string', placeholder: 's', description: "Retry-After of the dispatcher's own 503 replies", defaultText: String(DISPATCHER_DEFAULTS.retryAfterSeconds) },
  'curve-secret-file': { type: 'string', placeholder: 'file', description: "the dispatcher's CURVE secret key (m2pool keygen); workers need the matching .pub" },
  'curve-authorized-dir': { type: 'string', placeholder: 'dir', description: 'directory of worker public keys (*.pub): only those workers are accepted' },
  insecure: { type: 'boolean', description: 'allow a tcp:// bind without CURVE (anyone who reaches the port can read requests and inject replies)' },
  'mongrel2-config': MONGREL2_CONFIG_FLAG,
  'log-format': LOG_FORMAT_FLAG,
  admin: { type: 'string', placeholder: 'host:port', description: 'serve /metrics, /healthz and /readyz on this address (off loopback it needs --admin-token)', defaultText: 'off' },
  'admin-token': { type: 'string', placeholder: 'token', description: 'bearer token /metrics of --admin needs; required off loopback, >= 16 chars (prefer --admin-token-file)' },
  'admin-token-file': { type: 'string', placeholder: 'file', description: 'file holding the admin token (kept out of ps and the environment)' },
  'metrics-token': { type: 'string', placeholder: 'token', description: 'a second bearer token for GET /metrics (a scraper\'s); unset = the admin token only' },
  'log-level': { type: 'string', placeholder: 'level', description: `log level: ${LOG_LEVELS.join(', ')}`, defaultText: DISPATCHER_DEFAULTS.logLevel },
};

/** Turn parsed flags into options; throws one UsageError listing every problem. */
export function readDispatcherOptions(values: FlagValues): DispatcherOptions {
  const r = new FlagReader(values);
  const formatProblem = applyLogFormatFlag(values['log-format']);
  if (formatProblem !== undefined) r.issues.push(formatProblem);
  const given = { sendSpecs: r.list('send-spec'), recvSpecs: r.list('recv-spec') };
  const derived = given.sendSpecs.length === 0 && given.recvSpecs.length === 0 ? mongrel2Endpoints(r) : undefined;
  const { sendSpecs, recvSpecs } = derived ?? given;
  const flagged = r.list('control-spec');
  // From the same mongrel2.conf as the derived endpoints, unless given.
  const controlSpecs = flagged.length === 0 && derived !== undefined ? derived.controlSpecs : flagged;
  if (controlSpecs.length > 0 && controlSpecs.length !== sendSpecs.length) r.issues.push(`give one --control-spec per --send-spec, or none (got ${controlSpecs.length} and ${sendSpecs.length})`);
  if (sendSpecs.length !== recvSpecs.length) r.issues.push(`each --send-spec needs a matching --recv-spec (got ${sendSpecs.length} and ${recvSpecs.length})`);
  const bind = r.string('bind') ?? defaultBind(r.string('run-dir', DISPATCHER_DEFAULTS.runDir) ?? DISPATCHER_DEFAULTS.runDir);
  const adminText = r.string('admin');
  let admin: HostPort | undefined;
  if (adminText !== undefined) {
    const parsed = parseHostPort(adminText);
    if (typeof parsed === 'string') r.issues.push(`--admin: ${parsed}`);
    else admin = parsed;
  }
  const { adminToken, metricsToken } = readAdminTokens(r, adminText, admin);
  const queueLimit = r.int('queue-limit', DISPATCHER_DEFAULTS.queueLimit, 1, 10_000_000);
  const options: DispatcherOptions = {
    sendSpecs,
    recvSpecs,
    controlSpecs,
    bind,
    receiveHwm: r.int('receive-hwm', DISPATCHER_DEFAULTS.receiveHwm, 1, 1_000_000),
    maxRequestBytes: r.int('max-request-bytes', DISPATCHER_DEFAULTS.maxRequestBytes, WORKER_LIMITS.maxRequestBytes.min, WORKER_LIMITS.maxRequestBytes.max),
    maxMessageBytes: r.int('max-message-bytes', DISPATCHER_DEFAULTS.maxMessageBytes, WORKER_LIMITS.maxRequestBytes.min, 2 ** 31),
    queueLimit,
    backlogLimit: r.int('backlog-limit', Math.min(10_000_000, queueLimit * 4), 1, 10_000_000),
    queueTimeoutMs: r.int('queue-timeout-ms', DISPATCHER_DEFAULTS.queueTimeoutMs, 1),
    maxWorkerCredit: r.int('max-worker-credit', DISPATCHER_DEFAULTS.maxWorkerCredit, 1, 1_000_000),
    requestTimeoutMs: r.int('request-timeout-ms', DISPATCHER_DEFAULTS.requestTimeoutMs, 1),
    heartbeatIntervalMs: r.int('heartbeat-interval-ms', DISPATCHER_DEFAULTS.heartbeatIntervalMs, 10),
    heartbeatTimeoutMs: r.int('heartbeat-timeout-ms', DISPATCHER_DEFAULTS.heartbeatTimeoutMs, 20),
    sendTimeoutMs: r.int('send-timeout-ms', DISPATCHER_DEFAULTS.sendTimeoutMs, 1),
    drainTimeoutMs: r.int('drain-timeout-ms', DISPATCHER_DEFAULTS.drainTimeoutMs, 0),
    retryAfterSeconds: r.int('retry-after', DISPATCHER_DEFAULTS.retryAfterSeconds, 0),
    curveSecretFile: r.string('curve-secret-file'),
    curveAuthorizedDir: r.string('curve-authorized-dir'),
    insecure: values['insecure'] === true,
    admin,
    adminToken,
    metricsToken,
    logLevel: r.choice('log-level', LOG_LEVELS, DISPATCHER_DEFAULTS.logLevel),
  };
  r.issues.push(...securityIssues(options));
  if (options.heartbeatTimeoutMs <= options.heartbeatIntervalMs) r.issues.push('--heartbeat-timeout-ms must be longer than --heartbeat-interval-ms');
  if (options.backlogLimit < options.queueLimit) r.issues.push(`--backlog-limit (${options.backlogLimit}) must be at least --queue-limit (${options.queueLimit})`);
  r.check();
  return options;
}

/** `--admin-token` or `--admin-token-file`, and `--metrics-token`, checked by the pool admin's rules. */
function readAdminTokens(r: FlagReader, adminText: string | undefined, admin: HostPort | undefined): { adminToken: string; metricsToken: string } {
  const file = r.string('admin-token-file');
  let adminToken = r.string('admin-token') ?? '';
  const metricsToken = r.string('metrics-token') ?? '';
  if (file !== undefined) {
    if (adminToken !== '') r.issues.push('--admin-token and --admin-token-file: give one of them, not both');
    const read = readTokenFile(file);
    if ('problem' in read) r.issues.push(`--admin-token-file: ${read.problem}`);
    else adminToken = read.token;
  }
  if (adminText === undefined) {
    if (adminToken !== '' || metricsToken !== '' || file !== undefined) r.issues.push('--admin-token, --admin-token-file and --metrics-token need --admin');
  } else if (admin !== undefined) {
    const flag = { adminToken: '--admin-token', metricsToken: '--metrics-token' } as const;
    for (const { key, problem } of adminAccessProblems({ offHost: !isLoopbackHost(admin.host), adminToken, metricsToken }, adminText)) r.issues.push(`${flag[key]} ${problem}`);
  }
  return { adminToken, metricsToken };
}

/**
 * A `tcp://` endpoint is reachable by others: without CURVE anyone who reaches it could read requests and inject
 * replies, so it needs keys (and an authorized directory: without one any client would be accepted), unless the
 * operator says `--insecure`.
 */
export function securityIssues(o: Pick<DispatcherOptions, 'bind' | 'curveSecretFile' | 'curveAuthorizedDir' | 'insecure'>): string[] {
  const issues: string[] = [];
  if ((o.curveSecretFile === undefined) !== (o.curveAuthorizedDir === undefined)) {
    issues.push('--curve-secret-file and --curve-authorized-dir go together');
  }
  if (o.bind.startsWith('tcp://') && o.curveSecretFile === undefined && !o.insecure) {
    issues.push(`refusing to bind ${o.bind} without CURVE keys: give --curve-secret-file and --curve-authorized-dir (m2pool keygen), or --insecure`);
  }
  const bind = workerEndpoint(o.bind);
  if ('problem' in bind) issues.push(`--bind ${bind.problem}`);
  return issues;
}
