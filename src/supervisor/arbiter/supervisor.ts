/**
 * The arbiter. Its state is the desired worker count, the generation and the slots; ONE reconcile loop
 * (`loop.ts`) moves the actual processes toward it (gunicorn's `run` → `murder_workers` → `manage_workers`, steps
 * in `reconcile.ts`). Signal handlers, the admin API, pm2 actions and child-process events only record facts or
 * intents and wake the loop. Every change of the desired count goes through `setDesired` (reconcile.ts), every
 * reload through `reload()` (`reload/reload.ts`). The workers' keeper and the dispatcher's keep their children
 * alive (`child-handle.ts`); what reacts to the pool's facts is an observer (`observer.ts`): the metrics, the
 * runtime log levels (`control/log-levels.ts`), the autoscaler (`autoscaling/autoscaler.ts`).
 * @module
 */
import type { PoolConfig } from '../../config/schema';
import { Autoscaler, manualScaleRefusal } from '../autoscaling/autoscaler';
import { cpuMeter } from '../autoscaling/machine-cpu';
import { RuntimeLogLevels, type LogLevelResult, type LogLevels } from '../control/log-levels';
import { DispatcherKeeper } from '../dispatcher-child/dispatcher-keeper';
import { desiredAfterReload, Reloader } from '../reload/reload';
import { systemClock, type Clock } from './clock';
import { assessHealth, type HealthReport } from '../control/health';
import { createSupervisorLogger, type Logger } from './logger';
import { ReconcileLoop } from './loop';
import { notifier, type Notify } from './observer';
import { buildSnapshot, type PoolSnapshot } from '../control/pool-snapshot';
import { PoolState, type PoolPhase } from './pool-state';
import { poolNotReadyReason } from '../control/readiness';
import { beginStop, MAX_TICK_MS, setDesired, type StepContext } from './reconcile';
import { POOL_STOPPING, type ReloadResult, type ScaleResult, type ScaleTarget } from './scale-request';
import { actOnIntent, type IntentSink, type IntentTarget, type PoolIntent } from './signals';
import { crashLooping } from './slot';
import { forkWorker } from './spawn';
import { restartPolicyOf, type SupervisorOptions } from './supervisor-options';
import { WorkerKeeper } from './worker-keeper';

export type { SupervisorOptions } from './supervisor-options';
/** Grace periods and the tick, re-exported for callers and tests that reason about kill times. */
export { FAST_STOP_GRACE_MS, MAX_TICK_MS } from './reconcile';
export { BOOT_KILL_GRACE_MS } from './child-handle';
export { DRAIN_KILL_GRACE_MS } from './worker-keeper';

/** `/healthz` fails when the loop has not completed a pass for this long. */
const LIVENESS_WINDOW_MS = 10 * MAX_TICK_MS;

/**
 * The pool supervisor.
 * @example
 * const sup = new Supervisor({ config });
 * sup.start();
 * await sup.stopped; // after stop(), a signal or a pm2 'shutdown'
 */
export class Supervisor implements IntentSink, IntentTarget {
  #cfg: PoolConfig;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #state: PoolState;
  #ctx: StepContext;
  readonly #loop: ReconcileLoop;
  readonly #dispatcher: DispatcherKeeper;
  readonly #autoscaler: Autoscaler;
  readonly #levels: RuntimeLogLevels;
  readonly #reloader: Reloader;
  readonly #notify: Notify;
  readonly #intents: Array<{ readonly intent: PoolIntent; readonly source: string }> = [];
  #readyAnnounced = false;
  #resolveReady: () => void = () => undefined;
  #resolveStopped: () => void = () => undefined;
  /** Resolves once `minReady` workers are ready for the first time (pm2 `wait_ready`). */
  readonly whenReady: Promise<void>;
  /** Resolves when the pool has stopped and every worker has exited. */
  readonly stopped: Promise<void>;

  constructor(options: SupervisorOptions) {
    const c = options.config;
    this.#cfg = c;
    const log = (this.#log = options.logger ?? createSupervisorLogger(c.logLevel, undefined, c.logFormat));
    const clock = (this.#clock = options.clock ?? systemClock);
    const random = (this.#random = options.random ?? Math.random);
    const wake = (): void => this.#loop.wake();
    // The supervisor's own observers join once built; an outside one (metrics) hears every fact first.
    const observers = options.observer === undefined ? [] : [options.observer];
    const notify = (this.#notify = notifier(observers, log));
    const spawn = options.spawn ?? forkWorker;
    const state = (this.#state = new PoolState(c.workers));
    this.#levels = new RuntimeLogLevels(c.logLevel, log, state, (w, msg) => this.#ctx.keeper.send(w, msg));
    const keeper = new WorkerKeeper(state, { config: c, log, spawn: this.#levels.spawner(spawn), clock, random, policy: restartPolicyOf(c, random), wake, notify });
    this.#ctx = { state, keeper, config: c, log, notify };
    this.#dispatcher = new DispatcherKeeper({ config: c, log, spawn, clock, wake, notify });
    this.#autoscaler = new Autoscaler({
      clock,
      log,
      notify,
      state,
      setDesired: (n) => this.#setDesired(n, 'autoscale'),
      queueWait: () => this.#dispatcher.queueWait(),
      crashLooping: () => crashLooping(state.slots.values(), clock.now()),
      cpu: options.cpu ?? cpuMeter(),
    });
    observers.push(this.#levels, this.#autoscaler);
    const { reloadConfig, checkApp } = options;
    this.#reloader = new Reloader({ state, log, clock, notify, config: () => this.#cfg, reloadConfig, checkApp, apply: (next, previous) => this.#applyConfig(next, previous), wake });
    this.#loop = new ReconcileLoop({
      clock,
      log,
      ctx: () => this.#ctx,
      dispatcher: this.#dispatcher,
      takeIntents: () => this.#takeIntents(),
      ran: () => this.#announceReady(),
      stopped: (now) => this.#finish(now),
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
    this.#loop.lastPassAt = this.#clock.now();
    const c = this.#cfg;
    this.#log.info({ event: 'pool.start', desired: this.#state.desired, app: c.app, topology: c.topology, dispatcher: c.dispatcher, sendSpecs: c.sendSpecs, recvSpecs: c.recvSpecs }, 'pool.start');
    this.#notify('desired', this.#state.desired, this.#state.desired);
    this.#autoscaler.configure(c.autoscale);
    this.#loop.wake();
  }

  /** Record an intent (signals, pm2's shutdown message); the loop acts on it. Never logs, never decides. */
  recordIntent(intent: PoolIntent, source: string): void {
    this.#intents.push({ intent, source });
    this.#loop.wake();
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
    return this.#setDesired(typeof target === 'number' ? target : st.desired + target.delta, source);
  }

  #setDesired(n: number, source: string): ScaleResult {
    const r = setDesired(this.#ctx, n, source);
    if (r.ok) this.#loop.wake();
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
    const now = this.#clock.now();
    if (this.#state.phase === 'idle') this.#finish(now);
    if (this.#state.phase === 'stopped') return this.stopped;
    beginStop(this.#ctx, mode, now);
    this.#loop.wake();
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

  /** `/healthz`: the loop completed a pass recently, is not failing, and some slot can serve (see `control/health.ts`). */
  isLive(): boolean {
    return this.health().live;
  }

  /** The `/healthz` document: {@link isLive} with the reason when it is false. */
  health(): HealthReport {
    const { phase, desired, slots } = this.#state;
    const { lastPassAt: lastLoopAt, failedPasses: loopErrors } = this.#loop;
    return assessHealth({ now: this.#clock.now(), phase, desired, lastLoopAt, loopErrors, livenessWindowMs: LIVENESS_WINDOW_MS, slots: slots.values(), spawnDueAt: (s) => this.#ctx.keeper.spawnDueAt(s) });
  }

  /** `/readyz`: running with at least `minReady` ready workers, and Mongrel2 reachable (see {@link notReadyReason}). */
  isReady(): boolean {
    return this.notReadyReason() === undefined;
  }

  /** Why `/readyz` fails: not running, too few ready workers, the dispatcher down or without Mongrel2, no Mongrel2 link. */
  notReadyReason(): string | undefined {
    return poolNotReadyReason(this.#cfg, this.#state, () => this.#dispatcher.notReadyReason());
  }

  /** The `GET /pool` document. */
  snapshot(): PoolSnapshot {
    const c = this.#cfg;
    const { phase, desired, generation, rollout, workers, slots } = this.#state;
    const now = this.#clock.now();
    return buildSnapshot({
      ...{ now, topology: c.topology, phase, desired, generation, rollout, workers, slots: slots.values() },
      dispatcher: this.#dispatcher.view(now),
      remoteDispatcher: c.topology === 'dispatch' ? c.dispatcher ?? null : null,
      grants: this.#dispatcher.grants(),
      notReadyReason: this.notReadyReason() ?? null,
      limits: { minReady: c.minReady, minWorkers: c.minWorkers, maxWorkers: c.maxWorkers },
      autoscale: this.#autoscaler.view(now),
      crashWindowMs: c.crashLoop.windowMs,
      spawnDueAt: (s) => this.#ctx.keeper.spawnDueAt(s),
    });
  }

  /** Loop step: act on the intents recorded since the previous pass. */
  #takeIntents(): void {
    for (let i = this.#intents.shift(); i !== undefined; i = this.#intents.shift()) actOnIntent(this, i.intent, i.source, this.#log);
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
    this.#loop.cancel();
    const fields = stop === null ? {} : { mode: stop.mode, durationMs: now - stop.startedAt, killed: stop.killed };
    this.#log.info({ event: 'pool.stop', outcome: 'stopped', ...fields }, 'pool.stop');
    this.#resolveStopped();
  }
}
