/**
 * Validation of the pool configuration (gunicorn `validate_pos_int` style): every key of the settings table with
 * the `pool` scope read with its own check (`settings.ts`), every problem collected, unknown keys rejected, then
 * the rules between keys; one {@link ConfigError} thrown.
 * @module
 */
import path from 'node:path';
import { ConfigError } from '../errors';
import type { PoolConfig } from './schema';
import { adminAccessProblems } from './admin-token';
import { isLoopbackHost, parseHostPort } from './host-port';
import { isRecord, Reader, show, unknownKeyIssues, type ReaderOptions } from './checks';
import { settingsOf, type PoolKey, type Setting } from './settings';

/** Options of {@link validateConfig}. */
export interface ValidateOptions extends ReaderOptions<PoolKey> {
  /** Where keys the schema does not know came from (only a config file can bring them). */
  readonly unknownKeyOrigin?: string;
}

const POOL_SETTINGS = settingsOf('pool');
const splitKey = (s: Setting): [string, string | undefined] => s.key.split('.') as [string, string | undefined];

/** The top-level keys, and the members of each group (`restartBackoff`: initialMs, maxMs, resetAfterMs). */
const TOP_KEYS: ReadonlySet<string> = new Set(POOL_SETTINGS.map((s) => splitKey(s)[0]));
const GROUPS: ReadonlyMap<string, readonly Setting[]> = POOL_SETTINGS.reduce((m, s) => {
  const [head, tail] = splitKey(s);
  if (tail !== undefined) m.set(head, [...(m.get(head) ?? []), s]);
  return m;
}, new Map<string, Setting[]>());

function unknownKeys(raw: Record<string, unknown>): string[] {
  return Object.entries(raw).flatMap(([k, v]) => {
    if (!TOP_KEYS.has(k)) return [`${k}: unknown key`];
    const members = GROUPS.get(k);
    if (members === undefined || v === undefined) return [];
    const nested = new Set(members.map((s) => splitKey(s)[1]!));
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

/** How to give a missing required setting. */
const howToGive = (s: Setting): string => `--${s.flag} ${s.arg} or ${s.env}`;

/**
 * Validate a raw configuration object (missing keys take their defaults) and return it deep-frozen.
 * @throws ConfigError listing every problem found.
 */
export function validateConfig(raw: unknown, options: ValidateOptions = {}): PoolConfig {
  if (!isRecord(raw)) throw new ConfigError([`configuration must be an object, got ${show(raw)}`]);
  const r = new Reader<PoolKey>(raw, options);
  const from = options.unknownKeyOrigin !== undefined ? ` (from ${options.unknownKeyOrigin})` : '';
  r.issues.push(...unknownKeys(raw).map((issue) => issue + from));
  // exactOptionalPropertyTypes: unset optional settings are left out rather than written as `undefined`.
  const config: Record<string, unknown> = {};
  for (const s of POOL_SETTINGS) {
    if (splitKey(s)[1] !== undefined) continue;
    const key = s.key as PoolKey;
    if (s.pool === 'optional') {
      const v = r.optional(key, s.type.check);
      if (v !== undefined) config[key] = v;
      continue;
    }
    config[key] = r.read(key, s.type.check, s.default ?? '');
    if (s.pool === 'required' && raw[key] === undefined) r.problem(key, `is required (${howToGive(s)})`);
  }
  for (const [head, members] of GROUPS) {
    const optional = members.some((s) => s.pool === 'required');
    const given = raw[head];
    // An optional group (autoscale) exists only when given; a non-object is reported by unknownKeys.
    if (optional && !isRecord(given)) continue;
    const group: Record<string, unknown> = {};
    for (const s of members) {
      const [, tail] = splitKey(s);
      group[tail!] = r.read(s.key as PoolKey, s.type.check, s.default ?? 0);
      if (s.pool === 'required' && isRecord(given) && given[tail!] === undefined) {
        r.problem(s.key as PoolKey, `is required to turn ${head === 'autoscale' ? 'autoscaling' : head} on (${howToGive(s)})`);
      }
    }
    config[head] = group;
  }
  const checked = config as PoolConfig;
  crossChecks(checked, r);
  if (r.issues.length > 0) throw new ConfigError(r.issues);
  return deepFreeze(checked);
}

/** The autoscaler's bounds sit inside the ones manual scaling has. */
function autoscaleChecks(c: PoolConfig, r: Reader<PoolKey>): void {
  const a = c.autoscale;
  if (a === undefined || !r.ok('autoscale.min', 'autoscale.max')) return;
  if (a.min > a.max) r.problem('autoscale.min', `(${a.min}) is above autoscale.max (${a.max})`);
  if (r.ok('minWorkers') && a.min < c.minWorkers) r.problem('autoscale.min', `(${a.min}) is below minWorkers (${c.minWorkers}); autoscale.min..autoscale.max must sit within minWorkers..maxWorkers`);
  if (r.ok('maxWorkers') && a.max > c.maxWorkers) r.problem('autoscale.max', `(${a.max}) is above maxWorkers (${c.maxWorkers}); autoscale.min..autoscale.max must sit within minWorkers..maxWorkers`);
}

/** Rules between keys; each runs only when the keys it reads are individually valid. */
function crossChecks(c: PoolConfig, r: Reader<PoolKey>): void {
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
function dispatchChecks(c: PoolConfig, r: Reader<PoolKey>): void {
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
