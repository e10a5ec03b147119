/**
 * The arbiter. Its state is the desired worker count, the generation and the slots; ONE reconcile loop moves the
 * actual processes toward it (gunicorn's `run` → `murder_workers` → `manage_workers`). Signal handlers, the admin
 * API, pm2 actions and child-process events only record facts or intents and wake the loop.
 * @module
 */
import type { PoolConfig } from '../config/schema';
import { errorMessage } from '../errors';
import { isWorkerMessage } from '../ipc/messages';
import { systemClock, type CancelTimer, type Clock } from './clock';
import { createSupervisorLogger, type Logger } from './logger';
import { buildSnapshot, type PoolPhase, type PoolSnapshot } from './pool-snapshot';
import { EMPTY_HISTORY, RestartPolicy, classifyExit, type DrainReason, type KillReason } from './restart-policy';
import type { IntentSink, PoolIntent } from './signals';
import { breakerOpen, lowestFreeSlot, newSlot, pickScaleDownSlots, recycleThreshold, type SlotState } from './slot';
import { forkWorker, spawnRequest, type SpawnWorker, type WorkerProcess } from './spawn';
import { WorkerHandle } from './worker-handle';
import { logExit, logKill } from './supervisor-log';

/** Slack after `bootTimeoutMs` so a worker can report its own BOOT_ERROR (exit 3) before we SIGKILL it. */
export const BOOT_KILL_GRACE_MS = 1_000;
/** Slack after `drainTimeoutMs` for a drained worker to flush replies and exit. */
export const DRAIN_KILL_GRACE_MS = 1_000;
/** How long a fast stop waits after SIGTERM before SIGKILL. */
export const FAST_STOP_GRACE_MS = 1_000;
/** The loop runs at least this often, so `/healthz` can tell it is alive. */
export const MAX_TICK_MS = 1_000;
const LIVENESS_WINDOW_MS = 10 * MAX_TICK_MS;

/** Dependencies of a {@link Supervisor}; everything but `config` has a production default. */
export interface SupervisorOptions {
  readonly config: PoolConfig;
  readonly logger?: Logger;
  readonly spawn?: SpawnWorker;
  readonly clock?: Clock;
  /** Source of jitter for backoff and recycling, in [0, 1). */
  readonly random?: () => number;
}

/** Absolute worker count, or a change relative to the current desired count. */
export type ScaleTarget = number | { readonly delta: number };

/** Outcome of {@link Supervisor.scale}; `status` is the HTTP status the admin API answers with. */
export type ScaleResult =
  | { readonly ok: true; readonly previous: number; readonly desired: number }
  | { readonly ok: false; readonly status: 400 | 409; readonly error: string };

/** Outcome of {@link Supervisor.reload}. */
export type ReloadResult =
  | { readonly ok: true; readonly generation: number }
  | { readonly ok: false; readonly status: 409; readonly error: string };

interface StopState {
  mode: 'graceful' | 'fast';
  readonly startedAt: number;
  readonly deadline: number;
  begun: boolean;
  fastBegun: boolean;
  killed: number;
}

/** The pool supervisor. Create, `start()`, then `await stopped`. */
export class Supervisor implements IntentSink {
  readonly #cfg: PoolConfig;
  readonly #log: Logger;
  readonly #spawn: SpawnWorker;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #policy: RestartPolicy;
  #phase: PoolPhase = 'idle';
  #desired: number;
  #generation = 0;
  readonly #slots = new Map<number, SlotState>();
  readonly #workers = new Set<WorkerHandle>();
  readonly #intents: Array<{ readonly intent: PoolIntent; readonly source: string }> = [];
  #stop: StopState | null = null;
  #rollout: { readonly generation: number; readonly startedAt: number; failed: boolean } | null = null;
  #timer: { readonly at: number; readonly cancel: CancelTimer } | null = null;
  #lastLoopAt = 0;
  #loopErrors = 0;
  #readyAnnounced = false;
  #resolveReady: () => void = () => undefined;
  #resolveStopped: () => void = () => undefined;
  /** Resolves once `minReady` workers are ready for the first time (pm2 `wait_ready`). */
  readonly whenReady: Promise<void>;
  /** Resolves when the pool has stopped and every worker has exited. */
  readonly stopped: Promise<void>;

  constructor(options: SupervisorOptions) {
    this.#cfg = options.config;
    this.#log = options.logger ?? createSupervisorLogger(options.config.logLevel);
    this.#spawn = options.spawn ?? forkWorker;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    const { restartBackoff: b, crashLoop: c } = this.#cfg;
    this.#policy = new RestartPolicy({ ...b, maxFailures: c.maxFailures, windowMs: c.windowMs }, this.#random);
    this.#desired = this.#cfg.workers;
    this.whenReady = new Promise((resolve) => (this.#resolveReady = resolve));
    this.stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
  }

  get desired(): number {
    return this.#desired;
  }

  get generation(): number {
    return this.#generation;
  }

  get phase(): PoolPhase {
    return this.#phase;
  }

  /** Begin supervising: the first loop pass spawns the initial workers. */
  start(): void {
    if (this.#phase !== 'idle') throw new Error(`supervisor already ${this.#phase}`);
    this.#phase = 'running';
    this.#lastLoopAt = this.#clock.now();
    const c = this.#cfg;
    this.#log.info({ event: 'pool.start', desired: this.#desired, app: c.app, sendSpecs: c.sendSpecs, recvSpecs: c.recvSpecs }, 'pool.start');
    this.#wake();
  }

  /** Record an intent (signals, pm2 shutdown message); the loop acts on it. Never logs, never decides. */
  recordIntent(intent: PoolIntent, source: string): void {
    this.#intents.push({ intent, source });
    this.#wake();
  }

  /** Change the desired worker count (absolute or relative). The one code path for API, CLI, signals and pm2. */
  scale(target: ScaleTarget, source = 'api'): ScaleResult {
    if (this.#phase === 'stopping' || this.#phase === 'stopped') return { ok: false, status: 409, error: 'the pool is stopping' };
    const relative = typeof target !== 'number';
    const n = relative ? target.delta : target;
    if (!Number.isSafeInteger(n)) return { ok: false, status: 400, error: `${relative ? 'delta' : 'workers'} must be an integer, got ${String(n)}` };
    const desired = relative ? this.#desired + n : n;
    const { minWorkers: lo, maxWorkers: hi } = this.#cfg;
    if (desired < lo || desired > hi) {
      return { ok: false, status: 400, error: `cannot scale to ${desired} workers: allowed range is ${lo}..${hi} (minWorkers..maxWorkers)` };
    }
    const previous = this.#desired;
    this.#desired = desired;
    this.#log.info({ event: 'pool.scale', from: previous, to: desired, source }, 'pool.scale');
    this.#wake();
    return { ok: true, previous, desired };
  }

  /**
   * Rolling reload to generation+1: each slot gets a replacement first and its old worker drains only once the
   * replacement is ready, so the ready count never drops below the desired count. Resets open breakers (new code
   * may fix the crash loop).
   */
  reload(source = 'api'): ReloadResult {
    if (this.#phase === 'stopping' || this.#phase === 'stopped') return { ok: false, status: 409, error: 'the pool is stopping' };
    const now = this.#clock.now();
    this.#generation += 1;
    this.#rollout = { generation: this.#generation, startedAt: now, failed: false };
    for (const s of this.#slots.values()) {
      s.history = EMPTY_HISTORY;
      s.nextSpawnAt = Math.min(s.nextSpawnAt, now);
    }
    this.#log.info({ event: 'pool.reload', outcome: 'started', generation: this.#generation, source }, 'pool.reload');
    this.#wake();
    return { ok: true, generation: this.#generation };
  }

  /**
   * Stop the pool: drain every worker (SIGKILL what is left after `shutdownTimeoutMs`), or with `'fast'` SIGTERM
   * then SIGKILL after {@link FAST_STOP_GRACE_MS}. Idempotent: later calls join the same stop; `'fast'` hurries one.
   */
  stop(mode: 'graceful' | 'fast' = 'graceful'): Promise<void> {
    if (this.#phase === 'idle') this.#finish(this.#clock.now());
    if (this.#phase === 'stopped') return this.stopped;
    const now = this.#clock.now();
    if (this.#stop === null) {
      this.#stop = { mode, startedAt: now, deadline: now + this.#cfg.shutdownTimeoutMs, begun: false, fastBegun: false, killed: 0 };
      this.#phase = 'stopping';
      const live = [...this.#workers].filter((w) => w.live).length;
      this.#log.info({ event: 'pool.stop', outcome: 'started', mode, workers: live, shutdownTimeoutMs: this.#cfg.shutdownTimeoutMs }, 'pool.stop');
    } else if (mode === 'fast' && this.#stop.mode !== 'fast') {
      this.#stop.mode = 'fast';
      this.#log.warn({ event: 'pool.stop', outcome: 'hurried', mode }, 'pool.stop');
    }
    this.#wake();
    return this.stopped;
  }

  /** Graceful stop (undici `close()` naming). */
  close(): Promise<void> {
    return this.stop('graceful');
  }

  /** SIGKILL every worker now and stop. Idempotent. */
  destroy(): Promise<void> {
    const done = this.stop('fast');
    for (const w of this.#workers) w.kill('fast-stop');
    return done;
  }

  /** Workers currently ready (serving). */
  readyCount(): number {
    let n = 0;
    for (const w of this.#workers) if (w.live && w.state === 'ready') n++;
    return n;
  }

  /** `/healthz`: the loop ran recently and is not failing. */
  isLive(): boolean {
    if (this.#phase !== 'running' && this.#phase !== 'stopping') return false;
    return this.#loopErrors < 3 && this.#clock.now() - this.#lastLoopAt < LIVENESS_WINDOW_MS;
  }

  /** `/readyz`: running with at least `minReady` ready workers. */
  isReady(): boolean {
    return this.#phase === 'running' && this.readyCount() >= this.#cfg.minReady;
  }

  /** The `GET /pool` document. */
  snapshot(): PoolSnapshot {
    const c = this.#cfg;
    return buildSnapshot({
      now: this.#clock.now(),
      phase: this.#phase,
      desired: this.#desired,
      generation: this.#generation,
      limits: { minReady: c.minReady, minWorkers: c.minWorkers, maxWorkers: c.maxWorkers },
      rollout: this.#rollout,
      crashWindowMs: c.crashLoop.windowMs,
      workers: this.#workers,
      slots: this.#slots.values(),
    });
  }

  // ---- the loop -------------------------------------------------------------------------------------------

  #wake(): void {
    this.#schedule(this.#clock.now(), 0);
  }

  #schedule(now: number, delay: number): void {
    const at = now + delay;
    if (this.#timer !== null && this.#timer.at <= at) return;
    this.#timer?.cancel();
    this.#timer = { at, cancel: this.#clock.setTimeout(() => this.#reconcile(), delay) };
  }

  #reconcile(): void {
    this.#timer = null;
    if (this.#phase === 'idle' || this.#phase === 'stopped') return;
    const now = this.#clock.now();
    try {
      this.#drainIntents();
      this.#reap(now);
      if (this.#stop !== null) this.#stepStop(now);
      else this.#stepRun(now);
      this.#loopErrors = 0;
    } catch (err) {
      this.#loopErrors += 1;
      this.#log.error({ event: 'supervisor.loop-error', err, consecutive: this.#loopErrors }, 'supervisor.loop-error');
    }
    this.#lastLoopAt = now;
    // `#finish` may have run during this pass (read through the getter: TS narrowed the field above).
    if (this.phase !== 'stopped') this.#schedule(now, Math.max(this.#nextDeadline(now) - now, 1));
  }

  #drainIntents(): void {
    for (let i = this.#intents.shift(); i !== undefined; i = this.#intents.shift()) {
      const { intent, source } = i;
      if (intent === 'stop') void this.stop(this.#stop === null ? 'graceful' : 'fast');
      else if (intent === 'fast-stop') void this.stop('fast');
      else if (intent === 'reload') this.reload(source);
      else {
        const r = this.scale({ delta: intent === 'scale-up' ? 1 : -1 }, source);
        if (!r.ok) this.#log.warn({ event: 'pool.scale', outcome: 'rejected', source, error: r.error }, 'pool.scale');
      }
    }
  }

  #stepRun(now: number): void {
    this.#enforceDeadlines(now);
    for (const s of this.#slots.values()) {
      // A worker that started draining on its own (signalled from outside) no longer holds its slot.
      if (s.successor?.state === 'draining') s.successor = undefined;
      if (s.current?.state === 'draining') {
        s.current = s.successor;
        s.successor = undefined;
      }
      if (s.successor?.state === 'ready') {
        const old = s.current;
        s.current = s.successor;
        s.successor = undefined;
        if (old !== undefined) this.#drain(old, old.recycleReason ?? (old.generation < s.current.generation ? 'reload' : 'superseded'), now);
      }
    }
    this.#scaleDown(now);
    this.#scaleUp(now);
    this.#replaceOutdated(now);
    for (const s of [...this.#slots.values()].sort((a, b) => a.slot - b.slot)) {
      if (s.current === undefined && !breakerOpen(s) && now >= s.nextSpawnAt) s.current = this.#spawnInto(s, now);
    }
    this.#checkRollout(now);
    if (!this.#readyAnnounced && this.readyCount() >= this.#cfg.minReady) {
      this.#readyAnnounced = true;
      this.#log.info({ event: 'pool.ready', ready: this.readyCount(), minReady: this.#cfg.minReady }, 'pool.ready');
      this.#resolveReady();
    }
  }

  #stepStop(now: number): void {
    const st = this.#stop;
    if (st === null) return;
    if (!st.begun) {
      st.begun = true;
      for (const w of this.#workers) {
        const own = now + this.#cfg.drainTimeoutMs + DRAIN_KILL_GRACE_MS;
        if (w.state === 'draining') w.hurry(st.deadline, 'shutdown-timeout');
        else w.beginDrain('stop', now, this.#cfg.drainTimeoutMs, Math.min(own, st.deadline), own <= st.deadline ? 'drain-timeout' : 'shutdown-timeout');
      }
    }
    if (st.mode === 'fast' && !st.fastBegun) {
      st.fastBegun = true;
      for (const w of this.#workers) {
        w.signal('SIGTERM');
        w.hurry(now + FAST_STOP_GRACE_MS, 'fast-stop');
      }
    }
    this.#enforceDeadlines(now);
    if (this.#workers.size === 0) this.#finish(now);
  }

  #finish(now: number): void {
    const st = this.#stop;
    this.#phase = 'stopped';
    this.#timer?.cancel();
    this.#timer = null;
    const fields = st === null ? {} : { mode: st.mode, durationMs: now - st.startedAt, killed: st.killed };
    this.#log.info({ event: 'pool.stop', outcome: 'stopped', ...fields }, 'pool.stop');
    this.#resolveStopped();
  }

  /** Boot timeout before ready, heartbeat timeout after, drain budget while draining: SIGKILL and say why. */
  #enforceDeadlines(now: number): void {
    const c = this.#cfg;
    for (const w of this.#workers) {
      if (!w.live || w.killReason !== undefined) continue;
      if (w.state === 'booting' && now - w.spawnedAt >= c.bootTimeoutMs + BOOT_KILL_GRACE_MS) {
        this.#kill(w, 'boot-timeout', { bootMs: now - w.spawnedAt, bootTimeoutMs: c.bootTimeoutMs });
      } else if (w.state === 'ready' && w.silentForMs(now) >= c.heartbeatTimeoutMs) {
        this.#kill(w, 'heartbeat-timeout', {
          silentForMs: w.silentForMs(now),
          heartbeatTimeoutMs: c.heartbeatTimeoutMs,
          inFlight: w.inFlight,
          loopLagMs: w.loopLagMs,
        });
      } else if (w.state === 'draining' && w.killAt !== null && now >= w.killAt) {
        this.#kill(w, w.killAtReason, { drainingForMs: now - (w.drainStartedAt ?? now), inFlight: w.inFlight });
      }
    }
  }

  #kill(w: WorkerHandle, reason: KillReason, fields: Record<string, unknown>): void {
    logKill(this.#log, w, reason, fields);
    if (this.#stop !== null) this.#stop.killed += 1;
    w.kill(reason);
  }

  #drain(w: WorkerHandle, reason: DrainReason, now: number): void {
    if (!w.live || w.state === 'draining') return;
    this.#log.info({ event: 'worker.drain', slot: w.slot, pid: w.pid, generation: w.generation, reason, inFlight: w.inFlight }, 'worker.drain');
    w.beginDrain(reason, now, this.#cfg.drainTimeoutMs, now + this.#cfg.drainTimeoutMs + DRAIN_KILL_GRACE_MS, 'drain-timeout');
  }

  /** Give up surplus slots: drain their workers (idle or least loaded first), never kill them. */
  #scaleDown(now: number): void {
    const excess = this.#slots.size - this.#desired;
    if (excess <= 0) return;
    for (const s of pickScaleDownSlots(this.#slots.values(), excess)) {
      if (s.successor !== undefined) this.#drain(s.successor, 'scale-down', now);
      if (s.current !== undefined) this.#drain(s.current, 'scale-down', now);
      this.#slots.delete(s.slot);
    }
  }

  #scaleUp(now: number): void {
    if (this.#slots.size >= this.#desired) return;
    const inUse = new Set([...this.#workers].filter((w) => w.live).map((w) => w.slot));
    while (this.#slots.size < this.#desired) {
      const n = lowestFreeSlot(new Set(this.#slots.keys()), inUse, this.#cfg.maxWorkers);
      this.#slots.set(n, newSlot(n, now));
    }
  }

  /** Reload and recycling: boot a replacement next to an outdated or worn-out ready worker, `maxSurge` at a time. */
  #replaceOutdated(now: number): void {
    const slots = [...this.#slots.values()].sort((a, b) => a.slot - b.slot);
    let surge = slots.filter((s) => s.successor !== undefined).length;
    for (const s of slots) {
      const cur = s.current;
      if (cur === undefined || breakerOpen(s)) continue;
      const outdated = cur.generation < this.#generation && this.#rollout?.failed !== true;
      if (cur.state === 'booting' && outdated) {
        this.#drain(cur, 'reload', now); // not serving yet: nothing to protect, replace it right away
        s.current = undefined;
        continue;
      }
      if (cur.state !== 'ready' || s.successor !== undefined || (!outdated && cur.recycleReason === undefined)) continue;
      if (surge >= this.#cfg.maxSurge) continue;
      if (now < s.nextSpawnAt) {
        surge += 1; // its replacement failed and waits out the backoff: it keeps its surge token
        continue;
      }
      s.successor = this.#spawnInto(s, now);
      if (s.successor !== undefined) surge += 1;
    }
  }

  #checkRollout(now: number): void {
    const r = this.#rollout;
    if (r === null || r.failed) return;
    const done = [...this.#slots.values()].every(
      (s) => s.successor === undefined && s.current !== undefined && s.current.state === 'ready' && s.current.generation >= r.generation,
    );
    if (!done) return;
    this.#log.info({ event: 'pool.reload', outcome: 'complete', generation: r.generation, durationMs: now - r.startedAt }, 'pool.reload');
    this.#rollout = null;
  }

  #spawnInto(s: SlotState, now: number): WorkerHandle | undefined {
    const c = this.#cfg;
    const limits = {
      maxHandled: recycleThreshold(c.maxRequests, c.maxRequestsJitter, this.#random),
      maxRssBytes: c.maxRssBytes > 0 ? c.maxRssBytes : Infinity,
    };
    let child: WorkerProcess;
    try {
      child = this.#spawn(spawnRequest(c, s.slot, this.#generation));
    } catch (err) {
      // fork() itself threw (EAGAIN, EMFILE): count it like a crash so backoff and the breaker apply.
      const fake = new WorkerHandle(s.slot, this.#generation, deadProcess, now, limits);
      fake.spawnError = errorMessage(err);
      fake.markExited(null, null, now);
      this.#workers.add(fake);
      this.#wake();
      return fake;
    }
    const w = new WorkerHandle(s.slot, this.#generation, child, now, limits);
    this.#workers.add(w);
    child.on('message', (m) => this.#onMessage(w, m));
    child.on('exit', (code, signal) => {
      w.markExited(code, signal, this.#clock.now());
      this.#wake();
    });
    child.on('error', (err) => {
      if (w.pid === null) {
        w.spawnError = err.message;
        w.markExited(null, null, this.#clock.now());
        this.#wake();
      } else {
        this.#log.warn({ event: 'worker.ipc-error', slot: w.slot, pid: w.pid, err: err.message }, 'worker.ipc-error');
      }
    });
    this.#log.info({ event: 'worker.spawn', slot: s.slot, pid: w.pid, generation: w.generation, restarts: s.restarts }, 'worker.spawn');
    return w;
  }

  #onMessage(w: WorkerHandle, m: unknown): void {
    if (!isWorkerMessage(m)) return; // stray messages (another library's IPC) are not ours
    const now = this.#clock.now();
    const act = w.onMessage(m, now);
    const id = { slot: w.slot, pid: w.pid, generation: w.generation };
    if (m.type === 'm2pool:ready' && act) {
      this.#log.info({ event: 'worker.ready', ...id, bootMs: now - w.spawnedAt, endpoints: m.endpoints }, 'worker.ready');
    } else if (m.type === 'm2pool:draining' && act) {
      this.#log.warn({ event: 'worker.drain', ...id, reason: 'external', inFlight: m.inFlight }, 'worker.drain');
    } else if (m.type === 'm2pool:fatal') {
      this.#log.error({ event: 'worker.fatal', ...id, code: m.code, error: m.message }, 'worker.fatal');
    }
    if (act) this.#wake();
  }

  /** Account for exited workers: free their slot, feed backoff and the breaker, log `worker.exit`. */
  #reap(now: number): void {
    for (const w of this.#workers) {
      if (w.live) continue;
      this.#workers.delete(w);
      const exit = w.exit ?? { code: null, signal: null, at: now };
      const verdict = classifyExit({ ...exit, drainReason: w.drainReason, killReason: w.killReason, spawnError: w.spawnError !== undefined });
      const s = [...this.#slots.values()].find((x) => x.current === w || x.successor === w);
      let next: Record<string, unknown> = {};
      if (s !== undefined) {
        if (s.current === w) s.current = undefined;
        else s.successor = undefined;
        s.lastExit = { reason: verdict.reason, code: exit.code, signal: exit.signal, at: now };
        const uptime = w.readyAt === null ? 0 : now - w.readyAt;
        if (verdict.failure) {
          s.restarts += 1;
          const v = this.#policy.onFailure(s.history, now, uptime);
          s.history = v.history;
          s.nextSpawnAt = now + v.delayMs;
          next = breakerOpen(s) ? { breaker: 'open' } : { respawnInMs: v.delayMs };
          if (v.breakerOpened) this.#onBreakerOpen(s, w, verdict.reason);
        } else {
          s.history = this.#policy.onCleanExit(s.history, uptime);
        }
      }
      logExit(this.#log, w, verdict, now, { restarts: s?.restarts ?? 0, ...next });
    }
  }

  #onBreakerOpen(s: SlotState, w: WorkerHandle, reason: string): void {
    const { maxFailures, windowMs } = this.#cfg.crashLoop;
    this.#log.error(
      { event: 'slot.crashloop', slot: s.slot, generation: w.generation, failures: s.history.failures.length, maxFailures, windowMs, lastReason: reason, fatal: w.fatal },
      'slot.crashloop',
    );
    const r = this.#rollout;
    if (r !== null && !r.failed && w.generation === r.generation) {
      r.failed = true;
      this.#log.error({ event: 'pool.reload', outcome: 'failed', generation: r.generation, slot: s.slot }, 'pool.reload');
    }
  }

  /** Earliest moment the loop has something to do (capped at {@link MAX_TICK_MS}). */
  #nextDeadline(now: number): number {
    const c = this.#cfg;
    let at = now + MAX_TICK_MS;
    if (this.#stop === null) {
      for (const s of this.#slots.values()) if (s.current === undefined && !breakerOpen(s)) at = Math.min(at, s.nextSpawnAt);
    }
    for (const w of this.#workers) {
      if (!w.live || w.killReason !== undefined) continue;
      if (w.state === 'booting') at = Math.min(at, w.spawnedAt + c.bootTimeoutMs + BOOT_KILL_GRACE_MS);
      if (w.state === 'ready') at = Math.min(at, now - w.silentForMs(now) + c.heartbeatTimeoutMs);
      if (w.killAt !== null) at = Math.min(at, w.killAt);
    }
    return at;
  }
}

/** Stand-in process for a fork() that threw: no pid, nothing to signal. */
const deadProcess: WorkerProcess = {
  connected: false,
  send: () => false,
  kill: () => false,
  on() {
    return this;
  },
  removeAllListeners() {
    return this;
  },
};
