/**
 * Runtime log levels of a pool: the supervisor's logger, the workers' level (starts at config `logLevel`) and
 * per-slot overrides; which level each worker process runs at as far as it was told; telling live workers about a
 * change (`m2pool:log-level`), a booting one as soon as its listener is up. Not persisted: a restarted supervisor
 * goes back to the configured level.
 * @module
 */
import { LOG_LEVELS, type LogLevel } from '../../config/log-level';
import type { SupervisorMessage } from '../../ipc/messages';
import type { Logger } from '../arbiter/logger';
import type { PoolObserver } from '../arbiter/observer';
import type { PoolState } from '../arbiter/pool-state';
import type { SpawnRequest, SpawnWorker, WorkerProcess } from '../arbiter/spawn';
import type { WorkerHandle } from '../arbiter/worker-handle';

/**
 * Outcome of a level change: `slot` null = pool-wide; `workers` = live workers affected (told now, or as soon as
 * they are ready if still booting); `status` is the HTTP status the admin API answers with.
 */
export type LogLevelResult =
  | { readonly ok: true; readonly level: LogLevel; readonly slot: number | null; readonly previous: LogLevel; readonly workers: number }
  | { readonly ok: false; readonly status: 400; readonly error: string };

/** The log levels in force (`GET /log-level`): the supervisor's, the workers' (also later ones), per-slot overrides. */
export interface LogLevels {
  readonly supervisor: string;
  readonly workers: LogLevel;
  readonly slots: Readonly<Record<string, LogLevel>>;
}

/** `req` with its handed-over configuration's `logLevel` set to `level`. */
function withLogLevel(req: SpawnRequest, level: LogLevel): SpawnRequest {
  return req.config === undefined ? req : { ...req, config: { ...req.config, logLevel: level } };
}

/**
 * The pool's runtime log levels. An observer of the pool: a worker acknowledged ready catches up with a change it
 * booted through, a slot given up takes its override with it.
 */
export class RuntimeLogLevels implements PoolObserver {
  readonly #log: Logger;
  readonly #state: PoolState;
  readonly #send: (w: WorkerHandle, msg: SupervisorMessage) => void;
  #configured: LogLevel;
  #workerLevel: LogLevel;
  readonly #slotLevels = new Map<number, LogLevel>();
  /** The level each worker process runs at as far as we told it (handed-over configuration or last message). */
  readonly #levelOf = new WeakMap<WorkerProcess, LogLevel>();

  /** @param send delivers one IPC message to a worker (never throws). */
  constructor(configured: LogLevel, log: Logger, state: PoolState, send: (w: WorkerHandle, msg: SupervisorMessage) => void) {
    this.#configured = configured;
    this.#workerLevel = configured;
    this.#log = log;
    this.#state = state;
    this.#send = send;
  }

  /** A reload brought a new configured level: the level the spawn request carries from now on. */
  reconfigure(configured: LogLevel): void {
    this.#configured = configured;
  }

  /** Wrap a spawner so workers spawned after a change start at the new level, not the configured one. */
  spawner(spawn: SpawnWorker): SpawnWorker {
    return (req) => {
      const level = this.#levelFor(req.slot);
      const child = spawn(level === this.#configured ? req : withLogLevel(req, level));
      this.#levelOf.set(child, level);
      return child;
    };
  }

  /**
   * Change the level: without `slot`, of the supervisor and every worker (clearing per-slot overrides); with `slot`,
   * of that slot's workers only.
   */
  set(level: string, slot: number | undefined, source: string): LogLevelResult {
    const found = LOG_LEVELS.find((l) => l === level);
    if (found === undefined) return { ok: false, status: 400, error: `unknown log level ${JSON.stringify(level)}: use one of ${LOG_LEVELS.join('|')}` };
    if (slot !== undefined && !this.#state.slots.has(slot)) {
      const have = this.#state.sortedSlots().map((s) => s.slot);
      return { ok: false, status: 400, error: `no slot ${String(slot)} in the pool (slots: ${have.length > 0 ? have.join(', ') : 'none'})` };
    }
    const previous = this.#levelFor(slot);
    const affected = [...this.#state.workers].filter((w) => w.live && (slot === undefined || w.slot === slot));
    const line = { event: 'pool.log-level', level: found, previous, slot: slot ?? null, workers: affected.length, source };
    // Logged at whichever of the two levels lets an info line through.
    const logBefore = this.#log.isLevelEnabled('info');
    if (logBefore) this.#log.info(line, 'pool.log-level');
    if (slot === undefined) {
      this.#workerLevel = found;
      this.#slotLevels.clear();
      this.#log.level = found;
    } else {
      this.#slotLevels.set(slot, found);
    }
    for (const w of affected) this.#tell(w, true);
    if (!logBefore) this.#log.info(line, 'pool.log-level');
    return { ok: true, level: found, slot: slot ?? null, previous, workers: affected.length };
  }

  /** The levels in force. */
  levels(): LogLevels {
    const slots: Record<string, LogLevel> = {};
    for (const [slot, level] of [...this.#slotLevels].sort((a, b) => a[0] - b[0])) slots[String(slot)] = level;
    return { supervisor: this.#log.level, workers: this.#workerLevel, slots };
  }

  /** A worker that was booting during a change (its message listener was not up yet) catches up once ready. */
  workerReady(w: WorkerHandle): void {
    this.#tell(w, false);
  }

  /** A slot was given up: its override goes with it. */
  slotRemoved(slot: number): void {
    this.#slotLevels.delete(slot);
  }

  #levelFor(slot: number | undefined): LogLevel {
    return (slot === undefined ? undefined : this.#slotLevels.get(slot)) ?? this.#workerLevel;
  }

  /** Send a serving worker its level (`force`: even if it should have it already). Booting ones wait for ready. */
  #tell(w: WorkerHandle, force: boolean): void {
    const level = this.#levelFor(w.slot);
    if (!w.live || w.state === 'booting' || !w.child.connected) return;
    if (!force && this.#levelOf.get(w.child) === level) return;
    this.#levelOf.set(w.child, level);
    this.#send(w, { type: 'm2pool:log-level', level });
  }
}
