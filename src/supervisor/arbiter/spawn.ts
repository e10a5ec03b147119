/**
 * Starting worker processes: an injectable wrapper over `child_process.fork` plus what a worker is started with:
 * `main.js worker --app MODULE` and its whole `WorkerConfig` (derived from the pool configuration by
 * `workerConfigOf`) in `M2POOL_WORKER_CONFIG` (docs/architecture.md, "The worker contract").
 * @module
 */
import { LOG_FORMAT_ENV } from '../../log/log-format';
import { fork } from 'node:child_process';
import { MAX_TIMER_MS } from '../../config/checks';
import type { PoolConfig } from '../../config/schema';
import { requestBytesOf } from '../../config/message-limits';
import { dispatcherSettingArgs } from '../../config/dispatcher-args';
import { forkedDispatcherBind } from '../../config/validate';
import type { WorkerConfig } from '../../config/worker-config';
import { encodeWorkerConfig, WORKER_CONFIG_ENV } from '../../config/worker-config-codec';
import { workerConfigOf } from '../../config/worker-config-of';
import { DISPATCHER_DEFAULTS } from '../../dispatch/options';
import type { SupervisorMessage } from '../../ipc/messages';
import { SUPERVISOR_PID_ENV } from '../../ipc/stop-triggers';

/** The part of a `ChildProcess` the supervisor uses; unit tests supply an EventEmitter that looks like it. */
export interface WorkerProcess {
  readonly pid?: number | undefined;
  readonly connected: boolean;
  /** The command line it was started with (`ChildProcess.spawnargs`: node, script, arguments). */
  readonly spawnargs?: readonly string[];
  send(message: SupervisorMessage, callback: (error: Error | null) => void): boolean;
  kill(signal: NodeJS.Signals): boolean;
  on(event: 'message', listener: (message: unknown) => void): this;
  on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  removeAllListeners(): this;
}

/** Everything needed to start one worker. */
export interface SpawnRequest {
  readonly slot: number;
  readonly generation: number;
  /** Script to run with `process.execPath`. */
  readonly modulePath: string;
  readonly args: readonly string[];
  /** Added to the supervisor's own environment. */
  readonly env: Readonly<Record<string, string>>;
  /** A worker's whole configuration, handed over in `M2POOL_WORKER_CONFIG` (the dispatcher has none). */
  readonly config?: WorkerConfig;
}

/** Starts one worker. Must not throw for an unstartable child: report it through the `error` event instead. */
export type SpawnWorker = (request: SpawnRequest) => WorkerProcess;

/**
 * A worker's environment: the supervisor's, minus every `M2POOL_*` variable (the pool's own settings and secrets
 * such as `M2POOL_ADMIN_TOKEN`: a worker gets its settings in its handed-over configuration, and user code must
 * not read the admin token), plus `extra` (slot, generation, `M2POOL_WORKER_CONFIG`: {@link childExtraEnvironment}).
 * The app's own variables (`DATABASE_URL`, `NODE_ENV`, …) pass.
 */
export function workerEnvironment(parent: Readonly<Record<string, string | undefined>>, extra: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined && !k.startsWith('M2POOL_')) env[k] = v;
  return { ...env, ...extra };
}

/** What a spawn request adds to the environment: its `env`, and its configuration encoded. */
export function childExtraEnvironment(request: SpawnRequest): Record<string, string> {
  return { ...request.env, ...(request.config === undefined ? {} : { [WORKER_CONFIG_ENV]: encodeWorkerConfig(request.config) }) };
}

/**
 * The real spawner: `fork` with an IPC channel, stdout/stderr passed through (workers log pino JSON to stdout).
 * The children stay in the supervisor's process group, so pm2's treekill and a terminal's Ctrl-C reach them too;
 * the worker contract makes that double signal harmless.
 */
export const forkWorker: SpawnWorker = (request) =>
  fork(request.modulePath, [...request.args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: workerEnvironment(process.env, childExtraEnvironment(request)),
    // NOTE: do not inherit the supervisor's execArgv: `--inspect` would clash on the port, and test runners'
    // flags (`--test`) would turn the worker into a test process.
    execArgv: [],
    serialization: 'json',
  });

function passThrough(flag: string, value: number | string | undefined): string[] {
  return value === undefined ? [] : [flag, String(value)];
}

/**
 * Command-line arguments for a worker: `config.workerArgs`, then `--app` so `ps` shows which app it is (the
 * worker's title replaces it once it runs). Everything else travels in its configuration.
 */
export function workerArgs(config: PoolConfig): string[] {
  return [...config.workerArgs, '--app', config.app];
}

/**
 * Command-line arguments of the pool's own dispatcher (`main.js dispatcher …`, the CLI module the workers run).
 * Its drain budget is the workers': it is stopped only after they drained, so it rarely needs any.
 */
export function dispatcherArgs(config: PoolConfig): string[] {
  const bind = forkedDispatcherBind(config);
  const curve = bind.startsWith('tcp://') && config.curveSecretFile !== undefined
    ? ['--curve-secret-file', config.curveSecretFile, ...passThrough('--curve-authorized-dir', config.curveAuthorizedDir)]
    : [];
  return [
    'dispatcher',
    ...config.sendSpecs.flatMap((s) => ['--send-spec', s]),
    ...config.recvSpecs.flatMap((s) => ['--recv-spec', s]),
    ...config.controlSpecs.flatMap((s) => ['--control-spec', s]),
    '--bind', bind,
    ...dispatcherSettingArgs(config, {
      runDir: undefined, // --bind says where
      // The same bound the workers derive, so a request the dispatcher takes is one its workers take.
      maxRequestBytes: requestBytesOf(workerConfigOf(config)),
      maxWorkerCredit: forkedMaxWorkerCredit(config),
      dispatcherRequestTimeoutMs: forkedRequestTimeoutMs(config),
    }),
    ...curve,
    ...(config.insecure ? ['--insecure'] : []),
  ];
}

/** The pool's log format for a child (the only M2POOL_* variable a child gets besides its own; json: none). */
function logFormatEnv(config: PoolConfig): Record<string, string> {
  return config.logFormat === 'pretty' ? { [LOG_FORMAT_ENV]: 'pretty' } : {};
}

/** The pool's own workers must never be clamped: the credit cap follows `maxInFlight` when that is larger. */
function forkedMaxWorkerCredit(config: PoolConfig): number | undefined {
  if (config.maxWorkerCredit !== undefined) return config.maxWorkerCredit;
  return config.maxInFlight !== undefined && config.maxInFlight > DISPATCHER_DEFAULTS.maxWorkerCredit ? config.maxInFlight : undefined;
}

/** The dispatcher's deadline stays above the app's default deadline when the pool raises that. */
function forkedRequestTimeoutMs(config: PoolConfig): number | undefined {
  if (config.dispatcherRequestTimeoutMs !== undefined) return config.dispatcherRequestTimeoutMs;
  const doubled = config.requestTimeoutMs === undefined ? 0 : Math.min(MAX_TIMER_MS, 2 * config.requestTimeoutMs);
  return doubled > DISPATCHER_DEFAULTS.requestTimeoutMs ? doubled : undefined;
}

/** The spawn request of the pool's dispatcher (slot -1: it holds no worker slot); it names us as its supervisor. */
export function dispatcherSpawnRequest(config: PoolConfig, generation: number): SpawnRequest {
  return { slot: -1, generation, modulePath: config.workerModule, args: dispatcherArgs(config), env: { [SUPERVISOR_PID_ENV]: String(process.pid), ...logFormatEnv(config) } };
}

/** The full spawn request for `slot` in `generation`. */
export function spawnRequest(config: PoolConfig, slot: number, generation: number): SpawnRequest {
  return {
    slot,
    generation,
    modulePath: config.workerModule,
    args: workerArgs(config),
    // M2POOL_POOL_MAX_WORKERS: how many workers this pool may run, so per-process state (MemoryStore) can warn.
    env: { M2POOL_WORKER_SLOT: String(slot), M2POOL_WORKER_GENERATION: String(generation), M2POOL_POOL_MAX_WORKERS: String(config.maxWorkers), ...logFormatEnv(config) },
    config: workerConfigOf(config),
  };
}
