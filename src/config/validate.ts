/**
 * Hand-written, dependency-free validation of the pool configuration (gunicorn `validate_pos_int` style):
 * one small check per key, every problem collected, unknown keys rejected, one {@link ConfigError} thrown.
 * @module
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors';
import { DEFAULTS, type PoolConfig } from './schema';
import type { ConfigKey } from './fields';
import { adminAccessProblems } from './admin-token';
import { isLoopbackHost, parseHostPort } from './host-port';
import { bool, endpointList, endpoints, int, isRecord, level, ms, onOff, Reader, show, str, strings, topology, unknownKeyIssues, uploadTemplate, workerEndpoint, MAX_TIMER_MS, type Check, type ReaderOptions } from './checks';
import { appKind as appKindCheck } from './app-kind';
import { workerNumber as limited, type WorkerPassThrough } from './worker-config';
import { AUTOSCALE_DEFAULTS, type AutoscaleSettings } from './autoscale';

/** Options of {@link validateConfig}. */
export interface ValidateOptions extends ReaderOptions<ConfigKey> {
  /** Where keys the schema does not know came from (only a config file can bring them). */
  readonly unknownKeyOrigin?: string;
}

type PassKey = 'mongrel2Config' | 'dispatcher' | 'dispatcherBind' | 'queueLimit' | 'queueTimeoutMs' | 'backlogLimit' | 'maxWorkerCredit' | 'dispatcherRequestTimeoutMs' | 'curveSecretFile' | 'curveServerKeyFile' | 'curveAuthorizedDir' | 'adminTokenFile' | 'uploadDir' | keyof WorkerPassThrough | 'autoscale';

/** A finite number in (min, max] (`minExclusive`) or [min, max]. */
function num(min: number, max: number, minExclusive = false): Check<number> {
  return (v) =>
    typeof v === 'number' && Number.isFinite(v) && (minExclusive ? v > min : v >= min) && v <= max
      ? { value: v }
      : { problem: `must be a number ${minExclusive ? 'above' : 'from'} ${min} ${minExclusive ? 'and at most' : 'to'} ${max}, got ${show(v)}` };
}

/** A worker count, or `auto`: the CPUs this process may use (`os.availableParallelism()`, as pm2's `-i max`). */
const workerCount: Check<number> = (v) => (v === 'auto' ? { value: availableParallelism() } : int(0, 1024)(v));

const logFormat: Check<'json' | 'pretty'> = (v) => (v === 'json' || v === 'pretty' ? { value: v } : { problem: `must be json or pretty, got ${show(v)}` });

const hostPort: Check<string> = (v) => {
  if (typeof v !== 'string') return { problem: `must be a HOST:PORT string, got ${show(v)}` };
  const hp = parseHostPort(v);
  return typeof hp === 'string' ? { problem: hp } : { value: v };
};

const TOP_KEYS: ReadonlySet<string> = new Set([
  'app', 'appKind', 'mongrel2Config', 'workers', 'minWorkers', 'maxWorkers', 'minReady', 'sendSpecs', 'recvSpecs', 'controlSpecs', 'admin', 'adminToken', 'adminTokenFile', 'metricsToken',
  'bootTimeoutMs', 'heartbeatIntervalMs', 'heartbeatTimeoutMs', 'drainTimeoutMs', 'shutdownTimeoutMs',
  'restartBackoff', 'crashLoop', 'maxRequests', 'maxRequestsJitter', 'maxRssBytes', 'maxSurge', 'maxInFlight',
  'receiveHwm', 'requestTimeoutMs', 'maxRequestBytes', 'uploadStore', 'uploadDir', 'uploadThreshold', 'logLevel', 'logFormat', 'requestLogLevel', 'metrics', 'workerModule', 'workerArgs',
  'topology', 'dispatcher', 'dispatcherBind', 'runDir', 'queueLimit', 'queueTimeoutMs', 'backlogLimit', 'maxWorkerCredit', 'dispatcherRequestTimeoutMs', 'curveSecretFile', 'curveServerKeyFile', 'curveAuthorizedDir', 'insecure',
  'autoscale',
]);
const NESTED_KEYS: Readonly<Record<string, ReadonlySet<string>>> = {
  restartBackoff: new Set(['initialMs', 'maxMs', 'resetAfterMs']),
  crashLoop: new Set(['maxFailures', 'windowMs', 'probeAfterMs']),
  autoscale: new Set(['min', 'max', ...Object.keys(AUTOSCALE_DEFAULTS)]),
};

function unknownKeys(raw: Record<string, unknown>): string[] {
  return Object.entries(raw).flatMap(([k, v]) => {
    if (!TOP_KEYS.has(k)) return [`${k}: unknown key`];
    const nested = NESTED_KEYS[k];
    if (nested === undefined || v === undefined) return [];
    return isRecord(v) ? unknownKeyIssues(v, nested, `${k}.`) : [`${k}: must be an object with ${[...nested].join(', ')}`];
  });
}

/** Recursively freeze a plain object tree. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Validate a raw configuration object (missing keys take {@link DEFAULTS}) and return it deep-frozen.
 * @throws ConfigError listing every problem found.
 */
export function validateConfig(raw: unknown, options: ValidateOptions = {}): PoolConfig {
  if (!isRecord(raw)) throw new ConfigError([`configuration must be an object, got ${show(raw)}`]);
  const r = new Reader<ConfigKey>(raw, options);
  const from = options.unknownKeyOrigin !== undefined ? ` (from ${options.unknownKeyOrigin})` : '';
  r.issues.push(...unknownKeys(raw).map((issue) => issue + from));
  const d = DEFAULTS;

  const app = r.read('app', str(true), '');
  if (raw['app'] === undefined) r.problem('app', 'is required (--app MODULE or M2POOL_APP)');
  // exactOptionalPropertyTypes: unset pass-throughs are left out rather than written as `undefined`.
  const pass: { -readonly [K in PassKey]?: PoolConfig[K] } = {};
  const adminTokenFile = r.optional('adminTokenFile', str(true));
  if (adminTokenFile !== undefined) pass.adminTokenFile = adminTokenFile;
  const mongrel2Config = r.optional('mongrel2Config', str(true));
  if (mongrel2Config !== undefined) pass.mongrel2Config = mongrel2Config;
  const appKind = r.optional('appKind', appKindCheck);
  if (appKind !== undefined) pass.appKind = appKind;
  const maxInFlight = r.optional('maxInFlight', limited('maxInFlight'));
  if (maxInFlight !== undefined) pass.maxInFlight = maxInFlight;
  const receiveHwm = r.optional('receiveHwm', limited('receiveHwm'));
  if (receiveHwm !== undefined) pass.receiveHwm = receiveHwm;
  const requestTimeoutMs = r.optional('requestTimeoutMs', limited('requestTimeoutMs'));
  if (requestTimeoutMs !== undefined) pass.requestTimeoutMs = requestTimeoutMs;
  const maxRequestBytes = r.optional('maxRequestBytes', limited('maxRequestBytes'));
  if (maxRequestBytes !== undefined) pass.maxRequestBytes = maxRequestBytes;
  const uploadDir = r.optional('uploadDir', str(true));
  if (uploadDir !== undefined) pass.uploadDir = uploadDir;
  const uploadStore = r.optional('uploadStore', uploadTemplate);
  if (uploadStore !== undefined) pass.uploadStore = uploadStore;
  const uploadThreshold = r.optional('uploadThreshold', limited('uploadThreshold'));
  if (uploadThreshold !== undefined) pass.uploadThreshold = uploadThreshold;
  const requestLogLevel = r.optional('requestLogLevel', level);
  if (requestLogLevel !== undefined) pass.requestLogLevel = requestLogLevel;
  const metrics = r.optional('metrics', onOff);
  if (metrics !== undefined) pass.metrics = metrics;
  for (const key of ['dispatcher', 'dispatcherBind'] as const) {
    const v = r.optional(key, workerEndpoint);
    if (v !== undefined) pass[key] = v;
  }
  for (const key of ['curveSecretFile', 'curveServerKeyFile', 'curveAuthorizedDir'] as const) {
    const v = r.optional(key, str(true));
    if (v !== undefined) pass[key] = v;
  }
  const queueLimit = r.optional('queueLimit', int(1, 10_000_000));
  if (queueLimit !== undefined) pass.queueLimit = queueLimit;
  const queueTimeoutMs = r.optional('queueTimeoutMs', ms(1));
  if (queueTimeoutMs !== undefined) pass.queueTimeoutMs = queueTimeoutMs;
  const backlogLimit = r.optional('backlogLimit', int(1, 10_000_000));
  if (backlogLimit !== undefined) pass.backlogLimit = backlogLimit;
  const maxWorkerCredit = r.optional('maxWorkerCredit', int(1, 1_000_000));
  if (maxWorkerCredit !== undefined) pass.maxWorkerCredit = maxWorkerCredit;
  const dispatcherRequestTimeoutMs = r.optional('dispatcherRequestTimeoutMs', ms(1));
  if (dispatcherRequestTimeoutMs !== undefined) pass.dispatcherRequestTimeoutMs = dispatcherRequestTimeoutMs;
  const autoscale = autoscaleSettings(raw['autoscale'], r);
  if (autoscale !== undefined) pass.autoscale = autoscale;
  const config: PoolConfig = {
    app,
    workers: r.read('workers', workerCount, d.workers),
    minWorkers: r.read('minWorkers', int(0, 1024), d.minWorkers),
    maxWorkers: r.read('maxWorkers', int(1, 1024), d.maxWorkers),
    minReady: r.read('minReady', int(0, 1024), d.minReady),
    sendSpecs: r.read('sendSpecs', endpoints, d.sendSpecs),
    recvSpecs: r.read('recvSpecs', endpoints, d.recvSpecs),
    controlSpecs: r.read('controlSpecs', endpointList(0), d.controlSpecs),
    admin: r.read('admin', hostPort, d.admin),
    adminToken: r.read('adminToken', str(false), d.adminToken),
    metricsToken: r.read('metricsToken', str(false), d.metricsToken),
    bootTimeoutMs: r.read('bootTimeoutMs', limited('bootTimeoutMs'), d.bootTimeoutMs),
    heartbeatIntervalMs: r.read('heartbeatIntervalMs', limited('heartbeatIntervalMs'), d.heartbeatIntervalMs),
    heartbeatTimeoutMs: r.read('heartbeatTimeoutMs', ms(20), d.heartbeatTimeoutMs),
    drainTimeoutMs: r.read('drainTimeoutMs', limited('drainTimeoutMs'), d.drainTimeoutMs),
    shutdownTimeoutMs: r.read('shutdownTimeoutMs', ms(0), d.shutdownTimeoutMs),
    restartBackoff: {
      initialMs: r.read('restartBackoff.initialMs', ms(1), d.restartBackoff.initialMs),
      maxMs: r.read('restartBackoff.maxMs', ms(1), d.restartBackoff.maxMs),
      resetAfterMs: r.read('restartBackoff.resetAfterMs', ms(0), d.restartBackoff.resetAfterMs),
    },
    crashLoop: {
      maxFailures: r.read('crashLoop.maxFailures', int(1, 1_000), d.crashLoop.maxFailures),
      windowMs: r.read('crashLoop.windowMs', ms(1), d.crashLoop.windowMs),
      probeAfterMs: r.read('crashLoop.probeAfterMs', ms(0), d.crashLoop.probeAfterMs),
    },
    maxRequests: r.read('maxRequests', int(0), d.maxRequests),
    maxRequestsJitter: r.read('maxRequestsJitter', int(0), d.maxRequestsJitter),
    maxRssBytes: r.read('maxRssBytes', int(0), d.maxRssBytes),
    maxSurge: r.read('maxSurge', int(1, 1024), d.maxSurge),
    logLevel: r.read('logLevel', level, d.logLevel),
    logFormat: r.read('logFormat', logFormat, d.logFormat),
    workerModule: r.read('workerModule', str(true), d.workerModule),
    workerArgs: r.read('workerArgs', strings(() => undefined, 0), d.workerArgs),
    topology: r.read('topology', topology, d.topology),
    runDir: r.read('runDir', str(true), d.runDir),
    insecure: r.read('insecure', bool, d.insecure),
    ...pass,
  };
  crossChecks(config, r);
  if (r.issues.length > 0) throw new ConfigError(r.issues);
  return deepFreeze(config);
}

/**
 * The `autoscale` object: absent = off; otherwise `min` and `max` are required and the rest default
 * (docs/runbook.md "Autoscaling").
 */
function autoscaleSettings(raw: unknown, r: Reader<ConfigKey>): AutoscaleSettings | undefined {
  if (!isRecord(raw)) return undefined; // a non-object is reported by unknownKeys
  const d = AUTOSCALE_DEFAULTS;
  const settings: AutoscaleSettings = {
    min: r.read('autoscale.min', int(1, 1024), 0),
    max: r.read('autoscale.max', int(1, 1024), 0),
    intervalMs: r.read('autoscale.intervalMs', ms(50), d.intervalMs),
    targetUtilization: r.read('autoscale.targetUtilization', num(0, 1, true), d.targetUtilization),
    targetQueueWaitMs: r.read('autoscale.targetQueueWaitMs', int(1, MAX_TIMER_MS), d.targetQueueWaitMs),
    tolerance: r.read('autoscale.tolerance', num(0, 0.9), d.tolerance),
    scaleDownWindowMs: r.read('autoscale.scaleDownWindowMs', ms(0), d.scaleDownWindowMs),
    flapPenaltyMs: r.read('autoscale.flapPenaltyMs', ms(0), d.flapPenaltyMs),
    maxStepFactor: r.read('autoscale.maxStepFactor', num(1, 100, true), d.maxStepFactor),
    maxStepAdd: r.read('autoscale.maxStepAdd', int(1, 1024), d.maxStepAdd),
    minBusyEventLoop: r.read('autoscale.minBusyEventLoop', num(0, 1), d.minBusyEventLoop),
    cpuSaturation: r.read('autoscale.cpuSaturation', num(0, 1, true), d.cpuSaturation),
    memoryCapBytes: r.read('autoscale.memoryCapBytes', int(0), d.memoryCapBytes),
  };
  for (const key of ['min', 'max'] as const) {
    if (raw[key] === undefined) r.problem(`autoscale.${key}`, `is required to turn autoscaling on (--autoscale-${key} N or M2POOL_AUTOSCALE_${key.toUpperCase()})`);
  }
  return settings;
}

/** The autoscaler's bounds sit inside the ones manual scaling has. */
function autoscaleChecks(c: PoolConfig, r: Reader<ConfigKey>): void {
  const a = c.autoscale;
  if (a === undefined || !r.ok('autoscale.min', 'autoscale.max')) return;
  if (a.min > a.max) r.problem('autoscale.min', `(${a.min}) is above autoscale.max (${a.max})`);
  if (r.ok('minWorkers') && a.min < c.minWorkers) r.problem('autoscale.min', `(${a.min}) is below minWorkers (${c.minWorkers}); autoscale.min..autoscale.max must sit within minWorkers..maxWorkers`);
  if (r.ok('maxWorkers') && a.max > c.maxWorkers) r.problem('autoscale.max', `(${a.max}) is above maxWorkers (${c.maxWorkers}); autoscale.min..autoscale.max must sit within minWorkers..maxWorkers`);
}

/** Rules between keys; each runs only when the keys it reads are individually valid. */
function crossChecks(c: PoolConfig, r: Reader<ConfigKey>): void {
  dispatchChecks(c, r);
  autoscaleChecks(c, r);
  if (r.ok('minWorkers', 'maxWorkers') && c.minWorkers > c.maxWorkers) {
    r.problem('minWorkers', `(${c.minWorkers}) is above maxWorkers (${c.maxWorkers})`);
  }
  if (r.ok('workers', 'minWorkers', 'maxWorkers') && (c.workers < c.minWorkers || c.workers > c.maxWorkers)) {
    r.problem('workers', `(${c.workers}) must be between minWorkers (${c.minWorkers}) and maxWorkers (${c.maxWorkers})`);
  }
  if (r.ok('minReady', 'workers') && c.minReady > c.workers) {
    r.problem('minReady', `(${c.minReady}) is above workers (${c.workers}): the pool could never be ready`);
  }
  if (r.ok('sendSpecs', 'recvSpecs') && c.sendSpecs.length !== c.recvSpecs.length) {
    r.problem('recvSpecs', `has ${c.recvSpecs.length} entries but sendSpecs has ${c.sendSpecs.length}; give one recv spec per send spec`);
  }
  if (r.ok('sendSpecs', 'controlSpecs') && c.controlSpecs.length > 0 && c.controlSpecs.length !== c.sendSpecs.length) {
    r.problem('controlSpecs', `has ${c.controlSpecs.length} entries but sendSpecs has ${c.sendSpecs.length}; give one control spec per send spec, or none`);
  }
  if (r.ok('heartbeatIntervalMs', 'heartbeatTimeoutMs') && c.heartbeatTimeoutMs < 2 * c.heartbeatIntervalMs) {
    r.problem('heartbeatTimeoutMs', `(${c.heartbeatTimeoutMs}) must be at least twice heartbeatIntervalMs (${c.heartbeatIntervalMs})`);
  }
  if (r.ok('drainTimeoutMs', 'shutdownTimeoutMs') && c.shutdownTimeoutMs < c.drainTimeoutMs) {
    r.problem('shutdownTimeoutMs', `(${c.shutdownTimeoutMs}) is below drainTimeoutMs (${c.drainTimeoutMs}): stop would cut drains short`);
  }
  if (r.ok('restartBackoff.initialMs', 'restartBackoff.maxMs') && c.restartBackoff.maxMs < c.restartBackoff.initialMs) {
    r.problem('restartBackoff.maxMs', `(${c.restartBackoff.maxMs}) is below restartBackoff.initialMs (${c.restartBackoff.initialMs})`);
  }
  if (r.ok('admin')) {
    const hp = parseHostPort(c.admin);
    const offHost = typeof hp !== 'string' && !isLoopbackHost(hp.host);
    for (const { key, problem } of adminAccessProblems({ offHost, adminToken: c.adminToken, metricsToken: c.metricsToken }, c.admin)) {
      if (r.ok(key)) r.problem(key, problem);
    }
  }
}

/** The dispatch settings: a forked dispatcher's bind must be safe and short enough; a remote one needs no bind. */
function dispatchChecks(c: PoolConfig, r: Reader<ConfigKey>): void {
  // Against the dispatcher's own default queue limit, the forked dispatcher checks it (its flags are validated too).
  if (c.backlogLimit !== undefined && c.queueLimit !== undefined && c.backlogLimit < c.queueLimit) r.problem('backlogLimit', `(${c.backlogLimit}) is below queueLimit (${c.queueLimit})`);
  if (c.maxWorkerCredit !== undefined && c.maxInFlight !== undefined && c.maxWorkerCredit < c.maxInFlight) {
    r.problem('maxWorkerCredit', `(${c.maxWorkerCredit}) is below maxInFlight (${c.maxInFlight}): the dispatcher would never use the workers' full capacity`);
  }
  if (c.dispatcherRequestTimeoutMs !== undefined && c.requestTimeoutMs !== undefined && c.dispatcherRequestTimeoutMs <= c.requestTimeoutMs) {
    r.problem('dispatcherRequestTimeoutMs', `(${c.dispatcherRequestTimeoutMs}) must be above requestTimeoutMs (${c.requestTimeoutMs}), or the dispatcher answers 504 before the app's own deadline`);
  }
  if (c.topology === 'direct') {
    for (const key of ['dispatcher', 'dispatcherBind'] as const) {
      if (c[key] !== undefined) r.problem(key, 'is a dispatch-topology setting, but topology is direct');
    }
    return;
  }
  if (c.dispatcher !== undefined) {
    if (c.dispatcherBind !== undefined) r.problem('dispatcherBind', 'makes no sense with dispatcher (this pool joins a remote dispatcher and forks none)');
    if (c.dispatcher.startsWith('tcp://') && c.curveServerKeyFile === undefined && !c.insecure) {
      r.problem('dispatcher', `is a tcp:// endpoint: give curveServerKeyFile and curveSecretFile (m2pool keygen), or insecure`);
    }
    return;
  }
  const bind = forkedDispatcherBind(c);
  if (bind.startsWith('ipc://') && bind.length - 'ipc://'.length >= IPC_PATH_MAX) {
    r.problem(c.dispatcherBind === undefined ? 'runDir' : 'dispatcherBind', `gives the ipc path ${bind.slice(6)} (${bind.length - 6} characters); a Unix socket path must stay below ${IPC_PATH_MAX}: choose a shorter run directory`);
  }
  if (bind.startsWith('tcp://')) {
    if ((c.curveSecretFile === undefined) !== (c.curveAuthorizedDir === undefined)) r.problem('curveAuthorizedDir', 'and curveSecretFile go together');
    else if (c.curveSecretFile === undefined && !c.insecure) r.problem('dispatcherBind', `refusing to bind ${bind} without CURVE keys: give curveSecretFile, curveServerKeyFile and curveAuthorizedDir (m2pool keygen), or insecure`);
    else if (c.curveSecretFile !== undefined && c.curveServerKeyFile === undefined) r.problem('curveServerKeyFile', 'is needed by the workers to check the dispatcher (the .pub of curveSecretFile)');
  }
}

/** Unix socket paths longer than this do not fit `sockaddr_un` on every platform (108 on Linux, 104 on macOS). */
export const IPC_PATH_MAX = 100;

/** Where the pool's own dispatcher binds: `dispatcherBind`, or the socket in the run directory. */
export function forkedDispatcherBind(c: Pick<PoolConfig, 'dispatcherBind' | 'runDir'>): string {
  return c.dispatcherBind ?? `ipc://${path.resolve(c.runDir, 'dispatch.sock')}`;
}
