/**
 * The arbiter. Its state is the desired worker count, the generation and the slots; ONE reconcile loop moves the
 * actual processes toward it (gunicorn's `run` → `murder_workers` → `manage_workers`, steps in `reconcile.ts`).
 * Signal handlers, the admin API, pm2 actions and child-process events only record facts or intents and wake
 * the loop. Every change of the desired count goes through `setDesired` (reconcile.ts), every reload through
 * `reload()` (`reload/reload.ts`). What reacts to the pool's facts is an observer (`observer.ts`): the metrics,
 * the runtime log levels (`control/log-levels.ts`), the autoscaler (`autoscaling/autoscaler.ts`).
 * @module
 */
import type { PoolConfig } from '../../config/schema';
import { systemClock, type CancelTimer, type Clock } from './clock';
import { assessHealth, type HealthReport } from './health';
import { createSupervisorLogger, type Logger } from './logger';
import { notifier, type Notify, type SupervisorObserver } from './observer';
import { buildSnapshot, type PoolPhase, type PoolSnapshot } from './pool-snapshot';
import { PoolState } from './pool-state';
import { MAX_TICK_MS, nextDeadline, setDesired, stepRun, stepStop, type StepContext } from './reconcile';
import { desiredAfterReload, Reloader, type CheckApp } from '../reload/reload';
import { RuntimeLogLevels, type LogLevelResult, type LogLevels } from '../control/log-levels';
import { RestartPolicy } from './restart-policy';
import { breakerOpen } from './slot';
import type { IntentSink, PoolIntent } from './signals';
import { POOL_STOPPING, type ReloadResult, type ScaleResult, type ScaleTarget } from './scale-request';
import { forkWorker, type SpawnWorker } from './spawn';
import { WorkerKeeper } from './worker-keeper';
import { DispatcherKeeper } from '../dispatcher-child/dispatcher-keeper';
import { mongrel2Readiness } from './readiness';
import { Autoscaler, manualScaleRefusal } from '../autoscaling/autoscaler';
import { cpuMeter } from '../autoscaling/machine-cpu';

/** Grace periods and the tick, re-exported for callers and tests that reason about kill times. */
export { FAST_STOP_GRACE_MS, MAX_TICK_MS } from './reconcile';
export { BOOT_KILL_GRACE_MS } from './child-handle';
export { DRAIN_KILL_GRACE_MS } from './worker-keeper';

/** `/healthz` fails when the loop has not completed a pass for this long. */
const LIVENESS_WINDOW_MS = 10 * MAX_TICK_MS;

/** Dependencies of a {@link Supervisor}; everything but `config` has a production default. */
export interface SupervisorOptions {
  readonly config: PoolConfig;
  readonly logger?: Logger;
  readonly spawn?: SpawnWorker;
  readonly clock?: Clock;
  /** Source of jitter for backoff and recycling, in [0, 1). */
  readonly random?: () => number;
  /** Receives lifecycle facts (metrics plug in here). */
  readonly observer?: SupervisorObserver;
  /** Machine CPU use since the previous call, for the autoscaler's guard. @default `os.cpus()` deltas */
  readonly cpu?: () => number | undefined;
  /**
   * Re-reads the configuration for a reload (the sources it started from: an edited config file takes effect).
   * Throws `ConfigError`. Without it a reload keeps the configuration and only rolls the code.
   */
  readonly reloadConfig?: () => PoolConfig;
  /**
   * Checks that the (re-read) configuration's app loads before a reload replaces any worker: resolves with why it
   * does not, or undefined (`appCheckProblem` in reload/app-check.ts: a child loads it). Without it reloads are not
   * checked.
   */
  readonly checkApp?: CheckApp;
}

/** Request and result types of `scale()` / `reload()`, defined next to their parsers. */
export type { ReloadResult, ScaleResult, ScaleTarget } from './scale-request';

/** Log-level result types, defined next to the runtime log levels. */
export type { LogLevelResult, LogLevels } from '../control/log-levels';

function restartPolicyOf(c: PoolConfig, random: () => number): RestartPolicy {
  return new RestartPolicy({ ...c.restartBackoff, ...c.crashLoop }, random);
}

/**
 * The pool supervisor.
 * @example
 * const sup = new Supervisor({ config });
 * sup.start();
 * await sup.stopped; // after stop(), a signal or a pm2 'shutdown'
 */
export class Supervisor implements IntentSink {
  #cfg: PoolConfig;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #reloader: Reloader;
  readonly #state: PoolState;
  #ctx: StepContext;
  readonly #dispatcher: DispatcherKeeper;
  readonly #autoscaler: Autoscaler;
  readonly #notify: Notify;
  readonly #intents: Array<{ readonly intent: PoolIntent; readonly source: string }> = [];
  #timer: { readonly at: number; readonly cancel: CancelTimer } | null = null;
  #lastLoopAt = 0;
  #loopErrors = 0;
  #readyAnnounced = false;
  readonly #levels: RuntimeLogLevels;
  #resolveReady: () => void = () => undefined;
  #resolveStopped: () => void = () => undefined;
  /** Resolves once `minReady` workers are ready for the first time (pm2 `wait_ready`). */
  readonly whenReady: Promise<void>;
  /** Resolves when the pool has stopped and every worker has exited. */
  readonly stopped: Promise<void>;

  constructor(options: SupervisorOptions) {
    const c = options.config;
    this.#cfg = c;
    this.#log = options.logger ?? createSupervisorLogger(c.logLevel, undefined, c.logFormat);
    this.#clock = options.clock ?? systemClock;
    const random = options.random ?? Math.random;
    this.#random = random;
    // The supervisor's own observers join once built; an outside one (metrics) hears every fact first.
    const observers = options.observer === undefined ? [] : [options.observer];
    this.#notify = notifier(observers, this.#log);
    const spawn = options.spawn ?? forkWorker;
    this.#state = new PoolState(c.workers);
    const policy = restartPolicyOf(c, random);
    this.#levels = new RuntimeLogLevels(c.logLevel, this.#log, this.#state, (w, msg) => this.#ctx.keeper.send(w, msg));
    const keeper = new WorkerKeeper(this.#state, {
      config: c,
      log: this.#log,
      spawn: this.#levels.spawner(spawn),
      clock: this.#clock,
      random,
      policy,
      wake: () => this.#wake(),
      notify: this.#notify,
    });
    this.#ctx = { state: this.#state, keeper, config: c, log: this.#log, notify: this.#notify };
    this.#dispatcher = new DispatcherKeeper({ config: c, log: this.#log, spawn, clock: this.#clock, wake: () => this.#wake(), notify: this.#notify });
    this.#autoscaler = new Autoscaler({
      clock: this.#clock,
      log: this.#log,
      notify: this.#notify,
      state: this.#state,
      setDesired: (n) => {
        const r = setDesired(this.#ctx, n, 'autoscale');
        if (r.ok) this.#wake();
        return r;
      },
      queueWait: () => this.#dispatcher.queueWait(),
      crashLooping: () => this.#crashLooping(),
      cpu: options.cpu ?? cpuMeter(),
    });
    observers.push(this.#levels, this.#autoscaler);
    this.#reloader = new Reloader({
      state: this.#state,
      log: this.#log,
      clock: this.#clock,
      notify: this.#notify,
      config: () => this.#cfg,
      reloadConfig: options.reloadConfig,
      checkApp: options.checkApp,
      apply: (next, previous) => this.#applyConfig(next, previous),
      wake: () => this.#wake(),
    });
    this.whenReady = new Promise((resolve) => (this.#resolveReady = resolve));
    this.stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
  }

  get desired(): number {
    return this.#state.desired;
  }

  get generation(): number {
    return this.#state.generation;
  }

  get phase(): PoolPhase {
    return this.#state.phase;
  }

  /** Begin supervising: the first loop pass spawns the initial workers. */
  start(): void {
    if (this.#state.phase !== 'idle') throw new Error(`supervisor already ${this.#state.phase}`);
    this.#state.phase = 'running';
    this.#lastLoopAt = this.#clock.now();
    const c = this.#cfg;
    this.#log.info({ event: 'pool.start', desired: this.#state.desired, app: c.app, topology: c.topology, dispatcher: c.dispatcher, sendSpecs: c.sendSpecs, recvSpecs: c.recvSpecs }, 'pool.start');
    this.#notify('desired', this.#state.desired, this.#state.desired);
    this.#autoscaler.configure(c.autoscale);
    this.#wake();
  }

  /** Record an intent (signals, pm2's shutdown message); the loop acts on it. Never logs, never decides. */
  recordIntent(intent: PoolIntent, source: string): void {
    this.#intents.push({ intent, source });
    this.#wake();
  }

  /**
   * Change the desired worker count, absolutely or relatively, within [minWorkers, maxWorkers] (via `setDesired`).
   * Refused (409) while autoscaling is on: the autoscaler owns the count (docs/runbook.md "Autoscaling").
   */
  scale(target: ScaleTarget, source = 'api'): ScaleResult {
    const st = this.#state;
    if (st.phase === 'stopping' || st.phase === 'stopped') return POOL_STOPPING;
    const auto = this.#autoscaler.settings;
    if (auto !== undefined) return { ok: false, status: 409, error: manualScaleRefusal(auto) };
    if (typeof target !== 'number' && !Number.isSafeInteger(target.delta)) return { ok: false, status: 400, error: `delta must be an integer, got ${String(target.delta)}` };
    const r = setDesired(this.#ctx, typeof target === 'number' ? target : st.desired + target.delta, source);
    if (r.ok) this.#wake();
    return r;
  }

  /**
   * Rolling reload to generation+1 (`reload/reload.ts`): the configuration is re-read and, with `checkApp`, its app
   * loaded in a child first; a refusal (400 invalid configuration, 422 app does not load) changes nothing. Each
   * slot gets a replacement first and its old worker drains only once the replacement is ready, so the ready count
   * never drops below the desired count.
   */
  reload(source = 'api'): Promise<ReloadResult> {
    return this.#reloader.reload(source);
  }

  /** Make a re-read configuration the one new workers, the loop and the supervisor's parts use (admin settings stay). */
  #applyConfig(next: PoolConfig, previous: PoolConfig): void {
    this.#cfg = next;
    this.#ctx = { ...this.#ctx, config: next };
    this.#ctx.keeper.reconfigure(next, restartPolicyOf(next, this.#random));
    this.#dispatcher.reconfigure(next);
    this.#levels.reconfigure(next.logLevel);
    const desired = desiredAfterReload(next, previous, this.#state.desired);
    if (desired !== this.#state.desired) setDesired(this.#ctx, desired, 'config');
    if (JSON.stringify(next.autoscale) !== JSON.stringify(previous.autoscale)) this.#autoscaler.configure(next.autoscale);
    if (next.minReady !== previous.minReady) this.#notify('minReady', next.minReady);
    if (next.logLevel !== previous.logLevel) this.setLogLevel(next.logLevel, undefined, 'config');
  }

  /**
   * Stop the pool: drain every worker and SIGKILL what is left after `shutdownTimeoutMs`; with `'fast'`, SIGTERM
   * then SIGKILL after a short grace. Idempotent: later calls join the same stop, and `'fast'` hurries it.
   */
  stop(mode: 'graceful' | 'fast' = 'graceful'): Promise<void> {
    const st = this.#state;
    const now = this.#clock.now();
    if (st.phase === 'idle') this.#finish(now);
    if (st.phase === 'stopped') return this.stopped;
    if (st.stop === null) {
      st.stop = { mode, startedAt: now, deadline: now + this.#cfg.shutdownTimeoutMs, begun: false, fastBegun: false, killed: 0 };
      st.phase = 'stopping';
      this.#log.info({ event: 'pool.stop', outcome: 'started', mode, workers: st.liveCount(), shutdownTimeoutMs: this.#cfg.shutdownTimeoutMs }, 'pool.stop');
    } else if (mode === 'fast' && st.stop.mode !== 'fast') {
      st.stop.mode = 'fast';
      this.#log.warn({ event: 'pool.stop', outcome: 'hurried', mode }, 'pool.stop');
    }
    this.#wake();
    return this.stopped;
  }

  /**
   * Change the log level at runtime: without `slot`, of the supervisor and every worker (clearing per-slot
   * overrides); with `slot`, of that slot's workers only. Live workers get an `m2pool:log-level` message (a
   * booting one as soon as it is ready); workers spawned later start at the new level. Not persisted: a restart
   * of the supervisor goes back to config `logLevel`.
   */
  setLogLevel(level: string, slot?: number, source = 'api'): LogLevelResult {
    return this.#levels.set(level, slot, source);
  }

  /** The log levels in force. */
  logLevels(): LogLevels {
    return this.#levels.levels();
  }

  /** Graceful stop (undici's `close()` naming). */
  close(): Promise<void> {
    return this.stop('graceful');
  }

  /** SIGKILL every worker now and stop. Idempotent. */
  destroy(): Promise<void> {
    const done = this.stop('fast');
    for (const w of this.#state.workers) w.kill('fast-stop');
    this.#dispatcher.kill('fast-stop');
    return done;
  }

  /** Workers currently ready (serving). */
  readyCount(): number {
    return this.#state.readyCount();
  }

  /** `/healthz`: the loop completed a pass recently, is not failing, and some slot can serve (see `health.ts`). */
  isLive(): boolean {
    return this.health().live;
  }

  /** The `/healthz` document: {@link isLive} with the reason when it is false. */
  health(): HealthReport {
    const st = this.#state;
    return assessHealth({
      now: this.#clock.now(),
      phase: st.phase,
      desired: st.desired,
      lastLoopAt: this.#lastLoopAt,
      loopErrors: this.#loopErrors,
      livenessWindowMs: LIVENESS_WINDOW_MS,
      slots: st.slots.values(),
      spawnDueAt: (s) => this.#ctx.keeper.spawnDueAt(s),
    });
  }

  /** `/readyz`: running with at least `minReady` ready workers, and Mongrel2 reachable (see {@link notReadyReason}). */
  isReady(): boolean {
    return this.notReadyReason() === undefined;
  }

  /** Why `/readyz` fails: not running, too few ready workers, the dispatcher down or without Mongrel2, no Mongrel2 link. */
  notReadyReason(): string | undefined {
    const st = this.#state;
    if (st.phase !== 'running') return `the pool is ${st.phase}`;
    const ready = st.readyCount();
    if (ready < this.#cfg.minReady) return `${ready} ready workers, ${this.#cfg.minReady} needed (minReady)`;
    return this.#dispatcher.notReadyReason() ?? mongrel2Readiness(this.#cfg, st.workers);
  }

  /** The `GET /pool` document. */
  snapshot(): PoolSnapshot {
    const c = this.#cfg;
    const st = this.#state;
    return buildSnapshot({
      now: this.#clock.now(),
      topology: c.topology,
      dispatcher: this.#dispatcher.view(this.#clock.now()),
      remoteDispatcher: c.topology === 'dispatch' ? c.dispatcher ?? null : null,
      grants: this.#dispatcher.grants(),
      notReadyReason: this.notReadyReason() ?? null,
      phase: st.phase,
      desired: st.desired,
      generation: st.generation,
      limits: { minReady: c.minReady, minWorkers: c.minWorkers, maxWorkers: c.maxWorkers },
      autoscale: this.#autoscaler.view(this.#clock.now()),
      rollout: st.rollout,
      crashWindowMs: c.crashLoop.windowMs,
      spawnDueAt: (s) => this.#ctx.keeper.spawnDueAt(s),
      workers: st.workers,
      slots: st.slots.values(),
    });
  }

  #wake(): void {
    this.#schedule(this.#clock.now(), 0);
  }

  /** A slot's breaker is open, or it has no worker and waits out a restart backoff: more workers would only crash. */
  #crashLooping(): boolean {
    const now = this.#clock.now();
    for (const s of this.#state.slots.values()) if (breakerOpen(s) || (s.current === undefined && s.nextSpawnAt > now)) return true;
    return false;
  }

  #schedule(now: number, delay: number): void {
    const at = now + delay;
    if (this.#timer !== null && this.#timer.at <= at) return;
    this.#timer?.cancel();
    this.#timer = { at, cancel: this.#clock.setTimeout(() => this.#reconcile(), delay) };
  }

  /** One pass of the loop: intents, reaping, then the run or stop steps. Never throws. */
  #reconcile(): void {
    this.#timer = null;
    const st = this.#state;
    if (st.phase === 'idle' || st.phase === 'stopped') return;
    const now = this.#clock.now();
    try {
      this.#drainIntents();
      this.#ctx.keeper.reap(now);
      this.#ctx.keeper.acknowledge(now);
      if (st.stop !== null) {
        const workersGone = stepStop(this.#ctx, now);
        // The dispatcher goes last: draining workers still reply through it.
        if (this.#dispatcher.stepStop(now, st.workers.size, st.stop.deadline, st.stop.mode === 'fast') && workersGone) this.#finish(now);
      } else {
        this.#dispatcher.stepRun(now);
        stepRun(this.#ctx, now);
        this.#announceReady();
      }
      this.#loopErrors = 0;
    } catch (err) {
      this.#loopErrors += 1;
      this.#log.error({ event: 'supervisor.loop-error', err, consecutive: this.#loopErrors }, 'supervisor.loop-error');
    }
    this.#lastLoopAt = now;
    if (this.phase !== 'stopped') this.#schedule(now, Math.max(this.#dispatcher.nextDeadline(now, nextDeadline(this.#ctx, now)) - now, 1));
  }

  #drainIntents(): void {
    for (let i = this.#intents.shift(); i !== undefined; i = this.#intents.shift()) {
      const { intent, source } = i;
      if (intent === 'stop') void this.stop(this.#state.stop === null ? 'graceful' : 'fast');
      else if (intent === 'fast-stop') void this.stop('fast');
      else if (intent === 'reload') void this.reload(source); // a refusal is logged and counted there
      else {
        const r = this.scale({ delta: intent === 'scale-up' ? 1 : -1 }, source);
        if (!r.ok) this.#log.warn({ event: 'pool.scale', outcome: 'rejected', source, error: r.error }, 'pool.scale');
      }
    }
  }

  #announceReady(): void {
    if (this.#readyAnnounced || this.#state.readyCount() < this.#cfg.minReady) return;
    this.#readyAnnounced = true;
    this.#log.info({ event: 'pool.ready', ready: this.#state.readyCount(), minReady: this.#cfg.minReady }, 'pool.ready');
    this.#resolveReady();
  }

  #finish(now: number): void {
    const st = this.#state;
    const stop = st.stop;
    st.phase = 'stopped';
    this.#autoscaler.stop();
    this.#timer?.cancel();
    this.#timer = null;
    const fields = stop === null ? {} : { mode: stop.mode, durationMs: now - stop.startedAt, killed: stop.killed };
    this.#log.info({ event: 'pool.stop', outcome: 'stopped', ...fields }, 'pool.stop');
    this.#resolveStopped();
  }
}
