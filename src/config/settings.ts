/**
 * THE settings table (gunicorn's `Setting` classes): one entry per setting, and nothing about a setting anywhere
 * else. Each entry gives the value's type and check, the placeholder and the help text, and its scopes, the
 * processes that take it:
 *
 * - `pool`: a key of the pool configuration (`m2pool start` flag, `M2POOL_*` variable, config file):
 *   `required`, `default` (the entry's default), or `optional` (unset = the process that uses it takes its own
 *   default: e.g. `maxInFlight` unset in the pool means the worker's 64);
 * - `worker`: a key of the configuration one worker runs with (`WorkerConfig`, the supervisor → worker hand-over,
 *   `m2pool worker` flags): `default`, `{ default }` (its own default), or `optional`;
 * - `dispatcher`: an option of `m2pool dispatcher` (`DispatcherOptions`): `default`, or `{ default, name }` (its
 *   own default; `name` = the option's name there, which gives its flag).
 *
 * From it derive: the config types (`schema.ts`, `worker-config.ts`, `autoscale.ts`, by mapped types over this
 * `as const` table), the defaults, `m2pool start`'s flags, env names and `--help`, the validator (`validate.ts`),
 * the worker hand-over (`worker-config-codec.ts`, `worker-config-of.ts`), the `m2pool worker` and `m2pool
 * dispatcher` flags (`worker/options.ts`, `dispatch/options.ts`) and docs/configuration.md (`settings-doc.ts`).
 * Flag: the key in kebab case (`restartBackoff.initialMs` → `--restart-backoff-initial-ms`) unless given; env:
 * `M2POOL_` and the flag in upper snake case.
 * @module
 */
import * as path from 'node:path';
import { appKind as appKindCheck, APP_KINDS } from './app-kind';
import { bool, endpointList, endpoints, hostPort, level, MAX_TIMER_MS, onOff, str, strings, topology, uploadTemplate, workerCount, workerEndpoint, logFormat } from './checks';
import { LOG_LEVELS } from './log-level';
import { DEFAULT_WORKER_MESSAGE_BYTES, mongrel2MessageBytes } from './message-limits';
import { DEFAULT_UPLOAD_THRESHOLD } from './upload-template';
import { checked, decimal, integer, oneOf, type ValueType } from './value-types';

/** How a pool configuration has a setting. */
export type PoolUse = 'required' | 'default' | 'optional';
/** How a worker's configuration has a setting. */
export type WorkerUse = 'default' | 'optional' | { readonly default: unknown };
/** How `m2pool dispatcher` has a setting. */
export type DispatcherUse = 'default' | { readonly default?: unknown; readonly name?: string };

/** One entry of {@link SETTINGS}, as written. */
export interface SettingSpec {
  readonly type: ValueType<unknown>;
  /** Placeholder of the value in `--help` ('' for a boolean flag). */
  readonly arg: string;
  readonly help: string;
  readonly default?: unknown;
  /** The default as `--help` and the docs say it, when `String(default)` would not say it right. */
  readonly defaultText?: string;
  /** Long flag without the dashes, when not the key in kebab case. */
  readonly flag?: string;
  readonly pool?: PoolUse;
  readonly worker?: WorkerUse;
  readonly dispatcher?: DispatcherUse;
}

const MS = 'MS';
const timer = (min: number): ValueType<number> => integer(min, MAX_TIMER_MS);

/** Every setting, in `--help` order. */
export const SETTINGS = {
  app: { type: checked('string', str(true)), arg: 'MODULE', help: 'module exporting `app` or a default export: an m2pool App, a fetch(Request) app (Hono) or a node (req, res) listener (Express); resolved from the working directory', pool: 'required' },
  appKind: { type: oneOf(APP_KINDS, appKindCheck), arg: 'auto|m2pool|fetch|node', help: 'what --app exports: an m2pool App, a fetch(Request) app (Hono), a node (req, res) listener (Express); auto tells them apart by shape', defaultText: 'auto', pool: 'optional', worker: 'optional' },
  workers: { type: checked('int', workerCount), arg: 'N|auto', help: 'workers to run at start; auto = the CPUs available to the process', default: 2, pool: 'default' },
  minWorkers: { type: integer(0, 1024), arg: 'N', help: 'lowest count scale accepts', default: 1, pool: 'default' },
  maxWorkers: { type: integer(1, 1024), arg: 'N', help: 'highest count scale accepts', default: 32, pool: 'default' },
  minReady: { type: integer(0, 1024), arg: 'N', help: 'ready workers needed for /readyz and pm2 wait_ready', default: 1, pool: 'default' },
  sendSpecs: { type: checked('strings', endpoints), arg: 'EP', flag: 'send-spec', help: 'Mongrel2 handler send_spec requests are PULLed from, one per Mongrel2 server', default: ['tcp://127.0.0.1:9997'], defaultText: 'the handler of --mongrel2-config', pool: 'default' },
  recvSpecs: { type: checked('strings', endpoints), arg: 'EP', flag: 'recv-spec', help: 'Mongrel2 handler recv_spec replies are published to; the i-th pairs with the i-th --send-spec', default: ['tcp://127.0.0.1:9996'], defaultText: 'the handler of --mongrel2-config', pool: 'default' },
  mongrel2Config: { type: checked('string', str(true)), arg: 'FILE', help: "without --send-spec/--recv-spec, use this mongrel2.conf's Handler endpoints, ${RUN_DIR} = ./run/mongrel2 as `m2pool mongrel2` runs it", defaultText: 'deploy/mongrel2/mongrel2.conf', pool: 'optional' },
  controlSpecs: { type: checked('strings', endpointList(0)), arg: 'EP', flag: 'control-spec', help: 'Mongrel2 control_port, one per --send-spec or none: after a dispatcher crash, it lists the connections whose requests died with it, which then get 503 or are closed', default: [], defaultText: 'none', pool: 'default' },
  topology: { type: oneOf(['dispatch', 'direct'], topology), arg: 'dispatch|direct', help: 'dispatch: a dispatcher between Mongrel2 and the workers (scaling, reloads and crashes lose nothing); direct: workers connect to Mongrel2', default: 'dispatch', pool: 'default' },
  dispatcher: { type: checked('string', workerEndpoint), arg: 'tcp://HOST:PORT', help: 'dispatch: join this remote dispatcher instead of forking one', pool: 'optional' },
  dispatcherBind: { type: checked('string', workerEndpoint), arg: 'EP', help: 'dispatch: where the forked dispatcher listens for workers', defaultText: 'ipc://RUN_DIR/dispatch.sock', pool: 'optional' },
  runDir: { type: checked('string', str(true)), arg: 'DIR', help: 'run directory of the default dispatcher socket', default: 'run', pool: 'default', dispatcher: 'default' },
  queueLimit: { type: integer(1, 10_000_000), arg: 'N', help: 'requests the dispatcher queues while no worker has credit; beyond it new requests get 503 with Retry-After at once', default: 1_000, pool: 'optional', dispatcher: 'default' },
  backlogLimit: { type: integer(1, 10_000_000), arg: 'N', help: 'requests the dispatcher holds waiting (queued, or behind a leaving worker) at which it stops reading from Mongrel2: the memory bound; at least queueLimit', default: 4_000, defaultText: '4 × queueLimit', pool: 'optional', dispatcher: 'default' },
  queueTimeoutMs: { type: timer(1), arg: MS, help: 'a request queued at the dispatcher this long gets 503 with Retry-After', default: 30_000, pool: 'optional', dispatcher: 'default' },
  maxWorkerCredit: { type: integer(1, 1_000_000), arg: 'N', help: 'most requests one worker may claim at the dispatcher at once; a larger claim is cut to it', default: 1_024, defaultText: '1024, or maxInFlight if larger', pool: 'optional', dispatcher: { default: 1_024 } },
  dispatcherRequestTimeoutMs: { type: timer(1), arg: MS, help: 'a request at a worker with no reply for this long gets 504 from the dispatcher (WebSocket/JSON/XML: a close); keep it above the longest route deadline', default: 60_000, defaultText: '60000, or 2 × requestTimeoutMs if larger', pool: 'optional', dispatcher: { default: 60_000, name: 'requestTimeoutMs' } },
  curveSecretFile: { type: checked('string', str(true)), arg: 'FILE', help: 'dispatch over tcp://: CURVE secret key (m2pool keygen) of the dispatcher and of the workers', pool: 'optional' },
  curveServerKeyFile: { type: checked('string', str(true)), arg: 'FILE', help: "dispatch over tcp://: the dispatcher's CURVE public key the workers check", pool: 'optional' },
  curveAuthorizedDir: { type: checked('string', str(true)), arg: 'DIR', help: 'dispatch over tcp://: worker public keys (*.pub) the dispatcher accepts', pool: 'optional' },
  insecure: { type: checked('bool', bool), arg: '', help: 'allow a tcp:// dispatcher endpoint without CURVE (anyone reaching the port can read requests and forge replies)', default: false, pool: 'default' },
  admin: { type: checked('string', hostPort), arg: 'HOST:PORT', help: 'admin HTTP address; port 0 = any free port', default: '127.0.0.1:9890', pool: 'default' },
  adminToken: { type: checked('string', str(false)), arg: 'TOKEN', help: 'admin API bearer token; required off loopback, >= 16 chars (prefer --admin-token-file)', default: '', defaultText: 'none', pool: 'default' },
  adminTokenFile: { type: checked('string', str(true)), arg: 'FILE', help: 'file holding the admin token (kept out of ps and the environment)', pool: 'optional' },
  metricsToken: { type: checked('string', str(false)), arg: 'TOKEN', help: 'bearer token for GET /metrics besides the admin token; unset = /metrics is open', default: '', defaultText: 'none', pool: 'default' },
  bootTimeoutMs: { type: timer(1), arg: MS, help: 'a worker must be connected and ready within this, or it exits (3) and is replaced', default: 30_000, pool: 'default', worker: { default: 10_000 } },
  heartbeatIntervalMs: { type: timer(10), arg: MS, help: 'heartbeat period of the workers (towards the supervisor and the dispatcher)', default: 1_000, pool: 'default', worker: 'default', dispatcher: 'default' },
  heartbeatTimeoutMs: { type: timer(20), arg: MS, help: 'a worker silent this long is lost: the supervisor kills and replaces it, the dispatcher retries or answers 503 its requests', default: 3_000, pool: 'default', dispatcher: 'default' },
  drainTimeoutMs: { type: timer(0), arg: MS, help: 'on stop, how long in-flight requests may take before they are answered 503', default: 30_000, pool: 'default', worker: 'default', dispatcher: 'default' },
  shutdownTimeoutMs: { type: timer(0), arg: MS, help: 'budget for a graceful pool stop, >= drain timeout', default: 35_000, pool: 'default' },
  'restartBackoff.initialMs': { type: timer(1), arg: MS, help: 'first restart delay cap', default: 500, pool: 'default' },
  'restartBackoff.maxMs': { type: timer(1), arg: MS, help: 'largest restart delay cap', default: 30_000, pool: 'default' },
  'restartBackoff.resetAfterMs': { type: timer(0), arg: MS, help: "serving time that resets a slot's backoff", default: 10_000, pool: 'default' },
  'crashLoop.maxFailures': { type: integer(1, 1_000), arg: 'K', help: 'boot failures in the window that stop a slot respawning', default: 5, pool: 'default' },
  'crashLoop.windowMs': { type: timer(1), arg: MS, help: 'crash-loop window', default: 60_000, pool: 'default' },
  'crashLoop.probeAfterMs': { type: timer(0), arg: MS, help: 'an open breaker lets one worker try again after this long; 0 = only a reload closes it', default: 300_000, pool: 'default' },
  maxRequests: { type: integer(0), arg: 'N', help: 'recycle a worker after N requests, 0 = off', default: 0, pool: 'default' },
  maxRequestsJitter: { type: integer(0), arg: 'N', help: 'random 0..N added to max-requests per worker', default: 0, pool: 'default' },
  maxRssBytes: { type: integer(0), arg: 'BYTES', help: 'recycle a worker above this RSS, 0 = off', default: 0, pool: 'default' },
  maxSurge: { type: integer(1, 1024), arg: 'N', help: 'replacement workers booting at once during reload/recycle', default: 1, pool: 'default' },
  maxInFlight: { type: integer(1, 100_000), arg: 'N', help: 'requests one worker handles at once; at the cap it stops reading (dispatch: the credit it asks for)', default: 64, pool: 'optional', worker: 'default' },
  receiveHwm: { type: integer(1, 1_000_000), arg: 'N', help: 'ZeroMQ receive high-water mark of each socket requests arrive on: what libzmq may hold beyond what is read, lost when that process dies (worker 16, dispatcher 100)', default: 16, pool: 'optional', worker: 'default', dispatcher: { default: 100 } },
  requestTimeoutMs: { type: timer(1), arg: MS, help: 'default request deadline of the app (routes may override); on expiry the client gets 504', defaultText: "the app's (30000)", pool: 'optional', worker: 'optional' },
  maxRequestBytes: { type: integer(65_536, 2 ** 31), arg: 'BYTES', help: "largest message accepted from Mongrel2 (workers and the dispatcher); a peer sending more is disconnected: keep it at least the app's largest WebSocket maxMessageBytes", default: mongrel2MessageBytes(), defaultText: "from Mongrel2's limits: max(uploadThreshold, 1 MiB) + 96 KiB", pool: 'optional', worker: 'optional', dispatcher: 'default' },
  maxMessageBytes: { type: integer(65_536, 2 ** 31), arg: 'BYTES', help: 'largest message accepted from a worker (its biggest reply in one piece); workers split their batches below it, a peer sending more is disconnected', default: DEFAULT_WORKER_MESSAGE_BYTES, defaultText: `${DEFAULT_WORKER_MESSAGE_BYTES} (64 MiB)`, dispatcher: 'default' },
  uploadStore: { type: checked('string', uploadTemplate), arg: 'TEMPLATE', help: "Mongrel2's upload.temp_store, e.g. /srv/run/tmp/upload.XXXXXX; only files it can name are read and unlinked", defaultText: 'uploads refused', pool: 'optional', worker: 'optional' },
  uploadDir: { type: checked('string', str(true)), arg: 'DIR', help: 'shorthand for --upload-store DIR/upload.XXXXXX (--upload-store wins when both are given)', defaultText: 'uploads refused', pool: 'optional' },
  uploadThreshold: { type: integer(0), arg: 'BYTES', help: "Mongrel2's limits.content_length: an upload notice must declare more than this (or be chunked)", default: DEFAULT_UPLOAD_THRESHOLD, pool: 'optional', worker: 'default' },
  maxUploadBytes: { type: integer(0), arg: 'BYTES', help: 'largest async upload accepted (413 above); read into memory unless multipart/form-data, which is parsed from disk', default: 64 * 1024 * 1024, worker: 'default' },
  sendTimeoutMs: { type: timer(1), arg: MS, help: 'how long a reply may wait for its socket before it counts as failed', default: 5_000, worker: 'default', dispatcher: 'default' },
  logLevel: { type: oneOf(LOG_LEVELS, level), arg: 'LEVEL', help: `log level: ${LOG_LEVELS.join(', ')}`, default: 'info', pool: 'default', worker: 'default', dispatcher: 'default' },
  logFormat: { type: oneOf(['json', 'pretty'], logFormat), arg: 'json|pretty', help: 'log lines as JSON (pm2, systemd, log shippers) or pretty for a terminal, in every process of the pool', default: 'json', pool: 'default' },
  requestLogLevel: { type: oneOf(LOG_LEVELS, level), arg: 'LEVEL', help: 'level of the one-line-per-request log', default: 'debug', pool: 'optional', worker: 'default' },
  metrics: { type: oneOf(['on', 'off'], onOff), arg: 'on|off', help: 'record request metrics and push them to the supervisor (only when forked by it)', default: 'on', pool: 'optional', worker: 'default' },
  retryAfterSeconds: { type: integer(0, MAX_TIMER_MS), arg: 'S', flag: 'retry-after', help: "Retry-After of the dispatcher's own 503 replies", default: 1, dispatcher: 'default' },
  // schema.js is emitted to dist/src/config/, the CLI entry to dist/src/cli/main.js.
  workerModule: { type: checked('string', str(true)), arg: 'FILE', help: 'script forked per worker', default: path.resolve(__dirname, '..', 'cli', 'main.js'), defaultText: "this package's dist/src/cli/main.js", pool: 'default' },
  workerArgs: { type: checked('strings', strings(() => undefined, 0)), arg: 'ARG', flag: 'worker-arg', help: 'leading arguments of the worker script', default: ['worker'], defaultText: "'worker'", pool: 'default' },
  'autoscale.min': { type: integer(1, 1024), arg: 'N', help: 'autoscaling: fewest workers; giving min and max turns the autoscaler on', defaultText: 'off', pool: 'required' },
  'autoscale.max': { type: integer(1, 1024), arg: 'N', help: 'autoscaling: most workers, within minWorkers..maxWorkers', defaultText: 'off', pool: 'required' },
  'autoscale.intervalMs': { type: timer(50), arg: MS, help: 'autoscaling: sample and decide this often', default: 5_000, pool: 'default' },
  'autoscale.targetUtilization': { type: decimal(0, 1, true), arg: 'RATIO', help: 'autoscaling: target in flight / (ready workers x max in flight)', default: 0.7, pool: 'default' },
  'autoscale.targetQueueWaitMs': { type: timer(1), arg: MS, help: 'autoscaling: target p95 queue wait at the dispatcher (dispatch topology)', default: 50, pool: 'default' },
  'autoscale.tolerance': { type: decimal(0, 0.9), arg: 'RATIO', help: 'autoscaling: |observed/target - 1| up to this changes nothing', default: 0.1, pool: 'default' },
  'autoscale.scaleDownWindowMs': { type: timer(0), arg: MS, help: 'autoscaling: scale down only when every recommendation of this window agreed', default: 300_000, pool: 'default' },
  'autoscale.flapPenaltyMs': { type: timer(0), arg: MS, help: 'autoscaling: no scale-down this long after a scale-up', default: 60_000, pool: 'default' },
  'autoscale.maxStepFactor': { type: decimal(1, 100, true), arg: 'X', help: 'autoscaling: a scale-up step at most multiplies the size by this', default: 2, pool: 'default' },
  'autoscale.maxStepAdd': { type: integer(1, 1024), arg: 'N', help: 'autoscaling: a scale-up step adds at most this many workers', default: 4, pool: 'default' },
  'autoscale.minBusyEventLoop': { type: decimal(0, 1), arg: 'RATIO', help: 'autoscaling: no scale-up while the busiest event loop is below this, 0 = off', default: 0, pool: 'default' },
  'autoscale.cpuSaturation': { type: decimal(0, 1, true), arg: 'RATIO', help: 'autoscaling: no scale-up while machine CPU use is above this, 1 = off', default: 0.9, pool: 'default' },
  'autoscale.memoryCapBytes': { type: integer(0), arg: 'BYTES', help: 'autoscaling: workers x largest worker RSS stays below this, 0 = off', default: 0, pool: 'default' },
} as const satisfies Readonly<Record<string, SettingSpec>>;

type Table = typeof SETTINGS;
/** A setting's key: `maxInFlight`, `restartBackoff.initialMs`. */
export type SettingKey = keyof Table;
/** The type of setting `K`'s value, from its check. */
export type ValueOf<K extends SettingKey> = Table[K]['type'] extends ValueType<infer T> ? T : never;
/** The keys whose entry is a `C`. */
type KeysWhere<C> = { [K in SettingKey]: Table[K] extends C ? K : never }[SettingKey];
/** `K` unless it is a nested key (`group.name`). */
type TopLevel<K> = K extends `${string}.${string}` ? never : K;

/** The keys of the pool configuration, nested ones dotted. */
export type PoolKey = KeysWhere<{ readonly pool: PoolUse }>;
/** The top-level pool settings that always have a value, and the ones that may be unset. */
export type PoolSettings = { readonly [K in TopLevel<KeysWhere<{ readonly pool: 'required' | 'default' }>>]: ValueOf<K> } & {
  readonly [K in TopLevel<KeysWhere<{ readonly pool: 'optional' }>>]?: ValueOf<K>;
};
/** The pool settings of group `G` (`restartBackoff`, `crashLoop`, `autoscale`), by their name in it. */
export type SettingGroup<G extends string> = { readonly [K in PoolKey as K extends `${G}.${infer F}` ? F : never]: ValueOf<K> };

/** The keys of a worker's configuration that are settings (the rest, app and endpoints, is `WorkerConfig`'s own). */
export type WorkerKey = KeysWhere<{ readonly worker: WorkerUse }>;
/** The worker settings with a default. */
export type WorkerDefaultedKey = KeysWhere<{ readonly worker: 'default' | { readonly default: unknown } }>;
/** A worker's settings: those with a default always have a value. */
export type WorkerSettings = { readonly [K in WorkerDefaultedKey]: ValueOf<K> } & {
  readonly [K in KeysWhere<{ readonly worker: 'optional' }>]?: ValueOf<K>;
};

/** The keys of the settings `m2pool dispatcher` takes. */
export type DispatcherKey = KeysWhere<{ readonly dispatcher: DispatcherUse }>;
/** The name of setting `K` among the dispatcher's options. */
type DispatcherName<K extends DispatcherKey> = Table[K] extends { readonly dispatcher: { readonly name: infer N extends string } } ? N : K;
/** The dispatcher's settings, by their name there; every one has a default. */
export type DispatcherSettings = { readonly [K in DispatcherKey as DispatcherName<K>]: ValueOf<K> };

/** How requests reach the workers (`topology`). */
export type Topology = ValueOf<'topology'>;

/** The scopes a setting can have. */
export type Scope = 'pool' | 'worker' | 'dispatcher';

/** One setting with its derived names. */
export interface Setting extends SettingSpec {
  readonly key: SettingKey;
  /** Long flag of `m2pool start` (and of `m2pool worker`), without the dashes. */
  readonly flag: string;
  /** Environment variable of `m2pool start`. */
  readonly env: string;
}

const words = (key: string): string => key.replace(/\./g, '-').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** Every setting, in table order, with its flag and environment variable. */
export const SETTING_LIST: readonly Setting[] = Object.freeze(
  Object.entries(SETTINGS as Readonly<Record<string, SettingSpec>>).map(([key, spec]): Setting => {
    const flag = spec.flag ?? words(key);
    return Object.freeze({ ...spec, key: key as SettingKey, flag, env: `M2POOL_${words(key).replace(/-/g, '_').toUpperCase()}` });
  }),
);

/** The keys of the settings of `S`. */
export type KeyIn<S extends Scope> = { pool: PoolKey; worker: WorkerKey; dispatcher: DispatcherKey }[S];

/** The settings of `scope`, in table order. */
export function settingsOf<S extends Scope>(scope: S): ReadonlyArray<Setting & { readonly key: KeyIn<S> }> {
  return SETTING_LIST.filter((s): s is Setting & { readonly key: KeyIn<S> } => s[scope] !== undefined);
}

/** The setting of `key`. */
export function settingOf(key: SettingKey): Setting {
  return SETTING_LIST.find((s) => s.key === key)!;
}

/** The default of setting `s` in `scope`: its own there, else the entry's; undefined when it has none. */
export function defaultIn(s: SettingSpec, scope: Scope): unknown {
  const use = s[scope];
  return typeof use === 'object' && 'default' in use ? use.default : s.default;
}

/** The name of setting `s` among the dispatcher's options. */
export function dispatcherName(s: Setting): string {
  const use = s.dispatcher;
  return typeof use === 'object' && use.name !== undefined ? use.name : s.key;
}

/** The flag of setting `s` in `m2pool dispatcher`: its name there in kebab case. */
export function dispatcherFlag(s: Setting): string {
  const name = dispatcherName(s);
  return name === s.key ? s.flag : words(name);
}

/** The default of setting `s` in `scope` as help texts say it (undefined: none to say). */
export function defaultTextIn(s: SettingSpec, scope: Scope): string | undefined {
  const own = s[scope];
  if (typeof own === 'object' && 'default' in own) return String(own.default);
  if (s.defaultText !== undefined) return s.defaultText;
  const d = s.default;
  if (d === undefined) return undefined;
  return Array.isArray(d) ? (d.length === 0 ? 'none' : d.join(', ')) : String(d);
}

/** The top-level pool settings with a default (nested groups: see {@link defaultsOf}). */
export type PoolDefaultedKey = TopLevel<KeysWhere<{ readonly pool: 'default' }>>;

/**
 * The defaults of `scope`, frozen, nested keys in their group objects; a group with a required member (autoscale:
 * off unless min and max are given) is left out.
 */
export function defaultsOf(scope: Scope): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const incomplete = new Set<string>();
  for (const s of settingsOf(scope)) {
    const value = defaultIn(s, scope);
    const [head, tail] = s.key.split('.') as [string, string | undefined];
    if (tail === undefined) {
      if (value !== undefined && s[scope] !== 'optional') out[head] = Array.isArray(value) ? Object.freeze([...(value as unknown[])]) : value;
      continue;
    }
    if (s[scope] === 'required') incomplete.add(head);
    out[head] = { ...(out[head] as object | undefined), [tail]: value };
  }
  for (const head of incomplete) delete out[head];
  for (const v of Object.values(out)) if (typeof v === 'object' && v !== null) Object.freeze(v);
  return Object.freeze(out);
}

/** The defaults of group `group` (`autoscale`) whose members have one. */
export function groupDefaults(group: string): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const s of settingsOf('pool')) if (s.key.startsWith(`${group}.`) && s.default !== undefined) out[s.key.slice(group.length + 1)] = s.default;
  return Object.freeze(out);
}
