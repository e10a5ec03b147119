/**
 * The pool configuration: its type and the frozen defaults every other source is layered on.
 * Precedence (see `load.ts`): CLI flags > `M2POOL_*` env vars > JSON config file > {@link DEFAULTS}.
 * @module
 */
import * as path from 'node:path';
import { WORKER_DEFAULTS, type WorkerConfig, type WorkerPassThrough } from './worker-config';
import type { AutoscaleSettings } from './autoscale';

/** Per-slot restart backoff: full-jitter exponential delay between respawns of a failing slot. */
export interface RestartBackoffConfig {
  /** Cap of the first restart delay (the delay is uniformly random in [0, cap)). @default 500 */
  readonly initialMs: number;
  /** Largest cap the doubling may reach. @default 30000 */
  readonly maxMs: number;
  /**
   * A worker that served this long resets its slot's backoff to `initialMs`. Short, so a worker killed now and
   * then while serving (a crash, the OOM killer) always comes back within about a second. @default 10000
   */
  readonly resetAfterMs: number;
}

/** Crash-loop circuit breaker: `maxFailures` boot failures of one slot within `windowMs` stop that slot respawning. */
export interface CrashLoopConfig {
  /**
   * Boot failures (exit or signal before ready, exit codes 3/4, boot timeout, fork errors) that open the breaker.
   * A worker that dies after ready (crash, outside kill, heartbeat timeout) only backs off. @default 5
   */
  readonly maxFailures: number;
  /** Sliding window the failures are counted in. @default 60000 */
  readonly windowMs: number;
  /**
   * An open breaker lets one worker try again after this long (half-open): ready closes the breaker, a failure
   * keeps it open for another period. 0 = only a reload closes it. @default 300000
   */
  readonly probeAfterMs: number;
}

/** How requests reach the workers. */
export type Topology = 'dispatch' | 'direct';

/**
 * The whole, validated, deep-frozen pool configuration. The worker settings it passes through
 * ({@link WorkerPassThrough}: maxInFlight, receiveHwm, requestTimeoutMs, uploadStore, uploadThreshold,
 * requestLogLevel, metrics) are typed and documented on `WorkerConfig`; unset, the workers get
 * `WORKER_DEFAULTS` (`workerConfigOf` in `worker-config-of.ts` fills them in).
 */
export interface PoolConfig extends WorkerPassThrough {
  /** Module the workers load (`--app`). Required: there is no default. */
  readonly app: WorkerConfig['app'];
  /** The mongrel2.conf whose Handler endpoints are the default `sendSpecs`/`recvSpecs` (config/mongrel2-endpoints.ts). */
  readonly mongrel2Config?: string;
  /** Desired number of workers at start. @default 2 */
  readonly workers: number;
  /** Lowest count `scale` accepts. @default 1 */
  readonly minWorkers: number;
  /** Highest count `scale` accepts (guards against `scale 1000`). @default 32 */
  readonly maxWorkers: number;
  /** Ready workers needed for `/readyz` 200 and pm2's `wait_ready`. @default 1 */
  readonly minReady: number;
  /**
   * Mongrel2 `send_spec` endpoints (worker PULL connects); one per Mongrel2 server. Default: the handler of
   * `mongrel2Config` (the shipped mongrel2.conf), else (`resolveConfig` without file access) ['tcp://127.0.0.1:9997'].
   */
  readonly sendSpecs: WorkerConfig['sendSpecs'];
  /** Mongrel2 `recv_spec` endpoints (worker PUB connects); same count and order as `sendSpecs`. Default: as `sendSpecs`. */
  readonly recvSpecs: WorkerConfig['recvSpecs'];
  /**
   * Mongrel2 `control_port` endpoints, same order as `sendSpecs`, or none. Passed to the dispatcher the pool forks:
   * after a dispatcher crash, the connections whose requests died with it are closed through them. @default []
   */
  readonly controlSpecs: readonly string[];
  /** Admin HTTP listen address `HOST:PORT` (`[v6]:PORT` for IPv6; port 0 = any free port). @default '127.0.0.1:9890' */
  readonly admin: string;
  /**
   * Bearer token of the admin API (every endpoint but `/healthz`, `/readyz` and `/metrics`); required, at least 16
   * visible-ASCII characters, when `admin` is not a loopback address. Prefer `adminTokenFile`. @default ''
   */
  readonly adminToken: string;
  /** File holding `adminToken` (read at start and on reload; keeps the token out of `ps` and the environment). */
  readonly adminTokenFile?: string;
  /** Bearer token for `GET /metrics` (the admin token works too); '' = `/metrics` is open. @default '' */
  readonly metricsToken: string;
  /** A worker must report ready within this time (the worker gets the same value). @default 30000 */
  readonly bootTimeoutMs: WorkerConfig['bootTimeoutMs'];
  /** How often workers heartbeat over IPC. @default 1000 */
  readonly heartbeatIntervalMs: WorkerConfig['heartbeatIntervalMs'];
  /**
   * A ready worker silent this long (blocked event loop, SIGSTOP) is SIGKILLed and replaced. Measured cost of a
   * stall with 4 workers and 28 closed-loop clients: 3 s kills after ~2.7 s and loses 56 requests; the old 30 s
   * lost 420 (README "What a stall costs"). Keep synchronous work per tick well below it. @default 3000
   */
  readonly heartbeatTimeoutMs: number;
  /** Budget a draining worker gets to finish in-flight requests before it is killed. @default 30000 */
  readonly drainTimeoutMs: WorkerConfig['drainTimeoutMs'];
  /** Budget for a graceful pool stop; survivors are SIGKILLed after it. Must be ≥ drainTimeoutMs. @default 35000 */
  readonly shutdownTimeoutMs: number;
  /** Restart backoff per slot. */
  readonly restartBackoff: RestartBackoffConfig;
  /** Crash-loop breaker per slot. */
  readonly crashLoop: CrashLoopConfig;
  /** Recycle a worker after it handled this many requests (0 = off). @default 0 */
  readonly maxRequests: number;
  /** Random extra 0..N added per worker to `maxRequests` so workers do not recycle together. @default 0 */
  readonly maxRequestsJitter: number;
  /** Recycle a worker whose RSS exceeds this many bytes (0 = off). @default 0 */
  readonly maxRssBytes: number;
  /** Extra workers that may boot at once as replacements during reload and recycling. @default 1 */
  readonly maxSurge: number;
  /** Shorthand for `uploadStore: DIR/upload.XXXXXX` (`uploadStore` wins when both are set). */
  readonly uploadDir?: string;
  /** Log level of the supervisor, also passed to workers. @default 'info' */
  readonly logLevel: WorkerConfig['logLevel'];
  /** `pretty`: pino-pretty in the supervisor and every process it forks (log/log-format.ts). @default 'json' */
  readonly logFormat: 'json' | 'pretty';
  /**
   * `dispatch`: the supervisor forks a dispatcher (`m2pool dispatcher`), the only process connected to Mongrel2,
   * and the workers ask it for work; `direct`: every worker connects to Mongrel2 itself. @default 'dispatch'
   */
  readonly topology: Topology;
  /** Dispatch: the endpoint of a dispatcher run elsewhere (`tcp://HOST:PORT`); the pool forks none. */
  readonly dispatcher?: string;
  /** Dispatch: where the forked dispatcher binds for workers. Default: `ipc://<runDir>/dispatch.sock`. */
  readonly dispatcherBind?: string;
  /** Run directory (the default dispatcher socket lives here), relative to the working directory. @default 'run' */
  readonly runDir: string;
  /** Dispatcher pass-through: queued requests beyond which new requests get 503 + `Retry-After` at once. */
  readonly queueLimit?: number;
  /** Dispatcher pass-through: requests held waiting at which it stops reading from Mongrel2 (≥ queueLimit). */
  readonly backlogLimit?: number;
  /** Dispatcher pass-through: a request queued this long gets 503 + `Retry-After`. */
  readonly queueTimeoutMs?: number;
  /** Dispatcher pass-through: most credit one worker may claim. Default: 1024, or `maxInFlight` if larger. */
  readonly maxWorkerCredit?: number;
  /**
   * Dispatcher pass-through (its `--request-timeout-ms`): a request at a worker with no reply this long gets 504.
   * Default: 60000, or twice `requestTimeoutMs` if that is larger.
   */
  readonly dispatcherRequestTimeoutMs?: number;
  /** CURVE secret key file: the forked dispatcher's and the workers' (one key pair serves both ends). */
  readonly curveSecretFile?: string;
  /** CURVE public key file of the dispatcher, which the workers check. */
  readonly curveServerKeyFile?: string;
  /** Directory of worker public keys (`*.pub`) the forked dispatcher accepts. */
  readonly curveAuthorizedDir?: string;
  /** Allow a `tcp://` dispatcher bind without CURVE. @default false */
  readonly insecure: boolean;
  /** Script forked for each worker. @default '<package>/dist/src/cli/main.js' */
  readonly workerModule: string;
  /** Leading arguments before the worker flags (tests point these at a fixture). @default ['worker'] */
  readonly workerArgs: readonly string[];
  /** The autoscaler (`supervisor/autoscaler.ts`); absent = off, the desired count changes only by hand. */
  readonly autoscale?: AutoscaleSettings;
}

/** Keys that have a default (every key except the required `app` and the optional pass-throughs). */
type DefaultedKeys = Exclude<keyof PoolConfig, 'app' | 'mongrel2Config' | 'adminTokenFile' | keyof WorkerPassThrough | 'uploadDir' | 'dispatcher' | 'dispatcherBind' | 'queueLimit' | 'queueTimeoutMs' | 'backlogLimit' | 'maxWorkerCredit' | 'dispatcherRequestTimeoutMs' | 'curveSecretFile' | 'curveServerKeyFile' | 'curveAuthorizedDir' | 'autoscale'>;

/** Shape of {@link DEFAULTS}. */
export type PoolDefaults = Pick<PoolConfig, DefaultedKeys>;

/** Every default, frozen. The values are documented on {@link PoolConfig}. */
export const DEFAULTS: PoolDefaults = Object.freeze({
  workers: 2,
  minWorkers: 1,
  maxWorkers: 32,
  minReady: 1,
  sendSpecs: Object.freeze(['tcp://127.0.0.1:9997']),
  recvSpecs: Object.freeze(['tcp://127.0.0.1:9996']),
  controlSpecs: Object.freeze([]),
  admin: '127.0.0.1:9890',
  adminToken: '',
  metricsToken: '',
  bootTimeoutMs: 30_000,
  heartbeatIntervalMs: WORKER_DEFAULTS.heartbeatIntervalMs,
  heartbeatTimeoutMs: 3_000,
  drainTimeoutMs: WORKER_DEFAULTS.drainTimeoutMs,
  shutdownTimeoutMs: 35_000,
  restartBackoff: Object.freeze({ initialMs: 500, maxMs: 30_000, resetAfterMs: 10_000 }),
  crashLoop: Object.freeze({ maxFailures: 5, windowMs: 60_000, probeAfterMs: 300_000 }),
  maxRequests: 0,
  maxRequestsJitter: 0,
  maxRssBytes: 0,
  maxSurge: 1,
  logLevel: WORKER_DEFAULTS.logLevel,
  logFormat: 'json',
  topology: 'dispatch',
  runDir: 'run',
  insecure: false,
  // schema.js is emitted to dist/src/config/, the CLI entry to dist/src/cli/main.js.
  workerModule: path.resolve(__dirname, '..', 'cli', 'main.js'),
  workerArgs: Object.freeze(['worker']),
});
