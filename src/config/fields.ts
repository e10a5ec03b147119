/**
 * One row per configuration key (gunicorn's `Setting` objects): how it is spelled as a CLI flag and an env var,
 * how a string from those sources is coerced, and its help text. `--help`, the loader and the validator all read
 * this table, so a key cannot exist in one place and be missing in another.
 * @module
 */
import { LOG_LEVELS } from './log-level';
import { WORKER_DEFAULTS } from './worker-config';

/** How a value arriving as a string (env var, CLI flag) is turned into the config value. */
export type FieldKind = 'int' | 'number' | 'string' | 'strings' | 'level' | 'bool';

/** Dotted path of a config key: `workers`, `restartBackoff.initialMs`. */
export type ConfigKey =
  | 'app' | 'appKind' | 'mongrel2Config' | 'workers' | 'minWorkers' | 'maxWorkers' | 'minReady' | 'sendSpecs' | 'recvSpecs' | 'controlSpecs' | 'admin'
  | 'adminToken' | 'adminTokenFile' | 'metricsToken' | 'bootTimeoutMs' | 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'drainTimeoutMs'
  | 'shutdownTimeoutMs' | 'restartBackoff.initialMs' | 'restartBackoff.maxMs' | 'restartBackoff.resetAfterMs'
  | 'crashLoop.maxFailures' | 'crashLoop.windowMs' | 'crashLoop.probeAfterMs' | 'maxRequests' | 'maxRequestsJitter' | 'maxRssBytes'
  | 'maxSurge' | 'maxInFlight' | 'receiveHwm' | 'requestTimeoutMs' | 'maxRequestBytes' | 'uploadStore' | 'uploadDir' | 'uploadThreshold' | 'logLevel' | 'requestLogLevel'
  | 'metrics' | 'logFormat' | 'topology' | 'dispatcher' | 'dispatcherBind' | 'runDir' | 'queueLimit' | 'queueTimeoutMs'
  | 'backlogLimit' | 'maxWorkerCredit' | 'dispatcherRequestTimeoutMs'
  | 'curveSecretFile' | 'curveServerKeyFile' | 'curveAuthorizedDir' | 'insecure'
  | 'workerModule' | 'workerArgs'
  | 'autoscale.min' | 'autoscale.max' | 'autoscale.intervalMs' | 'autoscale.targetUtilization' | 'autoscale.targetQueueWaitMs'
  | 'autoscale.tolerance' | 'autoscale.scaleDownWindowMs' | 'autoscale.flapPenaltyMs' | 'autoscale.maxStepFactor' | 'autoscale.maxStepAdd'
  | 'autoscale.minBusyEventLoop' | 'autoscale.cpuSaturation' | 'autoscale.memoryCapBytes';

/** Description of one configuration key. */
export interface ConfigField {
  readonly key: ConfigKey;
  readonly kind: FieldKind;
  /** Long CLI flag without the dashes. */
  readonly flag: string;
  /** Environment variable name. */
  readonly env: string;
  /** Placeholder shown in `--help`. */
  readonly arg: string;
  readonly help: string;
}

function field(key: ConfigKey, kind: FieldKind, arg: string, help: string, flag?: string): ConfigField {
  const words = key.replace(/\./g, '-').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
  return Object.freeze({
    key,
    kind,
    flag: flag ?? words,
    env: `M2POOL_${words.replace(/-/g, '_').toUpperCase()}`,
    arg,
    help,
  });
}

/** Every configuration key, in `--help` order. */
export const CONFIG_FIELDS: readonly ConfigField[] = Object.freeze([
  field('app', 'string', 'MODULE', 'handler app module each worker loads (required)'),
  field('appKind', 'string', 'auto|m2pool|fetch|node', "what --app exports: an m2pool App, a fetch(Request) app (Hono), a node (req, res) listener (Express); auto tells them apart (default auto)"),
  field('workers', 'int', 'N|auto', 'workers to run at start; auto = the CPUs available to the process (default 2)'),
  field('minWorkers', 'int', 'N', 'lowest count scale accepts (default 1)'),
  field('maxWorkers', 'int', 'N', 'highest count scale accepts (default 32)'),
  field('minReady', 'int', 'N', 'ready workers needed for /readyz and pm2 wait_ready (default 1)'),
  field('sendSpecs', 'strings', 'EP', "Mongrel2 send_spec, repeatable; env: comma-separated (default: the handler of --mongrel2-config)", 'send-spec'),
  field('recvSpecs', 'strings', 'EP', "Mongrel2 recv_spec, repeatable, same count as --send-spec (default: the handler of --mongrel2-config)", 'recv-spec'),
  field('mongrel2Config', 'string', 'FILE', "without --send-spec/--recv-spec, use this mongrel2.conf's Handler endpoints, ${RUN_DIR} = ./run/mongrel2 as `m2pool mongrel2` runs it (default deploy/mongrel2/mongrel2.conf)", 'mongrel2-config'),
  field('controlSpecs', 'strings', 'EP', 'Mongrel2 control_port, repeatable, one per --send-spec or none: after a dispatcher crash, it lists the connections whose requests died with it, which then get 503 or are closed (default none)', 'control-spec'),
  field('topology', 'string', 'dispatch|direct', 'dispatch: a dispatcher between Mongrel2 and the workers (scaling, reloads and crashes lose nothing); direct: workers connect to Mongrel2 (default dispatch)'),
  field('dispatcher', 'string', 'tcp://HOST:PORT', 'dispatch: join this remote dispatcher instead of forking one'),
  field('dispatcherBind', 'string', 'EP', 'dispatch: where the forked dispatcher listens for workers (default ipc://RUN_DIR/dispatch.sock)'),
  field('runDir', 'string', 'DIR', 'run directory of the default dispatcher socket (default ./run)'),
  field('queueLimit', 'int', 'N', 'dispatcher: requests queued while no worker has credit; beyond it new requests get 503 + Retry-After at once (default 1000)'),
  field('backlogLimit', 'int', 'N', 'dispatcher: requests held waiting at which it stops reading from Mongrel2, the memory bound (default 4 × queueLimit)'),
  field('queueTimeoutMs', 'int', 'MS', 'dispatcher: a request queued this long gets 503 + Retry-After (default 30000)'),
  field('maxWorkerCredit', 'int', 'N', 'dispatcher: most requests one worker may claim at once (default 1024, or maxInFlight if larger)'),
  field('dispatcherRequestTimeoutMs', 'int', 'MS', 'dispatcher: a request at a worker with no reply this long gets 504 (default 60000, or 2 × requestTimeoutMs if larger)'),
  field('curveSecretFile', 'string', 'FILE', 'dispatch over tcp://: CURVE secret key (m2pool keygen) of the forked dispatcher and of the workers'),
  field('curveServerKeyFile', 'string', 'FILE', "dispatch over tcp://: the dispatcher's CURVE public key the workers check"),
  field('curveAuthorizedDir', 'string', 'DIR', 'dispatch over tcp://: worker public keys (*.pub) the forked dispatcher accepts'),
  field('insecure', 'bool', '', 'allow a tcp:// dispatcher bind without CURVE (anyone reaching the port can read requests)'),
  field('admin', 'string', 'HOST:PORT', 'admin HTTP address (default 127.0.0.1:9890; port 0 = any free port)'),
  field('adminToken', 'string', 'TOKEN', 'admin API bearer token; required off loopback, >= 16 chars (prefer --admin-token-file)'),
  field('adminTokenFile', 'string', 'FILE', 'file holding the admin token (kept out of ps and the environment)'),
  field('metricsToken', 'string', 'TOKEN', 'bearer token for GET /metrics; unset = /metrics is open'),
  field('bootTimeoutMs', 'int', 'MS', 'a worker must be ready within this (default 30000)'),
  field('heartbeatIntervalMs', 'int', 'MS', 'worker heartbeat period (default 1000)'),
  field('heartbeatTimeoutMs', 'int', 'MS', 'kill and replace a worker silent this long (default 3000)'),
  field('drainTimeoutMs', 'int', 'MS', 'budget to finish in-flight requests when draining (default 30000)'),
  field('shutdownTimeoutMs', 'int', 'MS', 'budget for a graceful pool stop, >= drain timeout (default 35000)'),
  field('restartBackoff.initialMs', 'int', 'MS', 'first restart delay cap (default 500)'),
  field('restartBackoff.maxMs', 'int', 'MS', 'largest restart delay cap (default 30000)'),
  field('restartBackoff.resetAfterMs', 'int', 'MS', 'serving time that resets a slot\'s backoff (default 10000)'),
  field('crashLoop.maxFailures', 'int', 'K', 'boot failures in the window that stop a slot respawning (default 5)'),
  field('crashLoop.windowMs', 'int', 'MS', 'crash-loop window (default 60000)'),
  field('crashLoop.probeAfterMs', 'int', 'MS', 'an open breaker lets one worker try again after this long; 0 = only a reload closes it (default 300000)'),
  field('maxRequests', 'int', 'N', 'recycle a worker after N requests, 0 = off (default 0)'),
  field('maxRequestsJitter', 'int', 'N', 'random 0..N added to max-requests per worker (default 0)'),
  field('maxRssBytes', 'int', 'BYTES', 'recycle a worker above this RSS, 0 = off (default 0)'),
  field('maxSurge', 'int', 'N', 'replacement workers booting at once during reload/recycle (default 1)'),
  field('maxInFlight', 'int', 'N', `worker: concurrent requests per worker (default ${WORKER_DEFAULTS.maxInFlight})`),
  field('receiveHwm', 'int', 'N', `worker: ZeroMQ receive high-water mark (default ${WORKER_DEFAULTS.receiveHwm})`),
  field('requestTimeoutMs', 'int', 'MS', 'worker: per-request deadline'),
  field('maxRequestBytes', 'int', 'BYTES', "largest message accepted from Mongrel2 (workers and the forked dispatcher); default: Mongrel2's limits (content_length or 1 MiB WebSocket messages, plus headers)"),
  field('uploadStore', 'string', 'TEMPLATE', "worker: Mongrel2's upload.temp_store, e.g. /srv/run/tmp/upload.XXXXXX (uploads refused without it)"),
  field('uploadDir', 'string', 'DIR', 'worker: shorthand for --upload-store DIR/upload.XXXXXX'),
  field('uploadThreshold', 'int', 'BYTES', `worker: Mongrel2's limits.content_length (default ${WORKER_DEFAULTS.uploadThreshold})`),
  field('logLevel', 'level', 'LEVEL', `${LOG_LEVELS.join('|')} (default ${WORKER_DEFAULTS.logLevel})`),
  field('logFormat', 'string', 'json|pretty', 'log lines as JSON (pm2, systemd, log shippers) or pretty for a terminal, in every process of the pool (default json)'),
  field('requestLogLevel', 'level', 'LEVEL', `worker: level of per-request log lines (default ${WORKER_DEFAULTS.requestLogLevel})`),
  field('metrics', 'string', 'on|off', `worker: record request metrics and push them to the supervisor (default ${WORKER_DEFAULTS.metrics})`),
  field('workerModule', 'string', 'FILE', 'script forked per worker (default: this package\'s dist/src/cli/main.js)'),
  field('workerArgs', 'strings', 'ARG', "leading worker arguments, repeatable (default 'worker')", 'worker-arg'),
  field('autoscale.min', 'int', 'N', 'autoscaling: fewest workers; giving min and max turns the autoscaler on (off by default)'),
  field('autoscale.max', 'int', 'N', 'autoscaling: most workers, within minWorkers..maxWorkers'),
  field('autoscale.intervalMs', 'int', 'MS', 'autoscaling: sample and decide this often (default 5000)'),
  field('autoscale.targetUtilization', 'number', 'RATIO', 'autoscaling: target in flight / (ready workers x max in flight) (default 0.7)'),
  field('autoscale.targetQueueWaitMs', 'int', 'MS', 'autoscaling: target p95 queue wait at the dispatcher (default 50)'),
  field('autoscale.tolerance', 'number', 'RATIO', 'autoscaling: |observed/target - 1| up to this changes nothing (default 0.1)'),
  field('autoscale.scaleDownWindowMs', 'int', 'MS', 'autoscaling: scale down only when every recommendation of this window agreed (default 300000)'),
  field('autoscale.flapPenaltyMs', 'int', 'MS', 'autoscaling: no scale-down this long after a scale-up (default 60000)'),
  field('autoscale.maxStepFactor', 'number', 'X', 'autoscaling: a scale-up step at most multiplies the size by this (default 2)'),
  field('autoscale.maxStepAdd', 'int', 'N', 'autoscaling: a scale-up step adds at most this many workers (default 4)'),
  field('autoscale.minBusyEventLoop', 'number', 'RATIO', 'autoscaling: no scale-up while the busiest event loop is below this, 0 = off (default 0)'),
  field('autoscale.cpuSaturation', 'number', 'RATIO', 'autoscaling: no scale-up while machine CPU use is above this, 1 = off (default 0.9)'),
  field('autoscale.memoryCapBytes', 'int', 'BYTES', 'autoscaling: workers x largest worker RSS stays below this, 0 = off (default 0)'),
]);
