/**
 * The pool's own dispatcher (dispatch topology, no remote `dispatcher` configured) as one more child of the
 * supervisor, with its own reconcile step: fork it first, restart it at once when it dies (a short backoff only
 * when it keeps failing to boot: no breaker, a pool without its dispatcher serves nothing), SIGKILL it when it
 * misses its boot or heartbeat deadline, and stop it LAST, after every worker drained (draining workers reply
 * through it). Its IPC reports feed readiness (`notReadyReason`), `/pool` and, through the observer, `/metrics`.
 * It forks, watches and times out its child as the workers' keeper does (`arbiter/child-handle.ts`); only what an
 * exit leads to differs.
 * @module
 */
import type { PoolConfig } from '../../config/schema';
import type { WorkerMessage } from '../../ipc/messages';
import { forkedDispatcherBind } from '../../config/validate';
import { forkChild, watchChild } from '../arbiter/child-handle';
import type { Clock } from '../arbiter/clock';
import { DispatcherHandle, type DispatcherKillReason, type DispatcherView } from './dispatcher-handle';
import type { Logger } from '../arbiter/logger';
import type { Notify } from '../arbiter/observer';
import { queueWaitTotals, type QueueWaitTotals } from './queue-wait';
import { dispatcherSpawnRequest, type SpawnWorker } from '../arbiter/spawn';
import { FAST_STOP_GRACE_MS } from '../arbiter/reconcile';

/** Restart delay after the n-th consecutive failure to boot: 0, 100, 200, 400 … capped here. */
const MAX_RESTART_DELAY_MS = 1_000;
/** Slack after its drain budget for the dispatcher to flush and exit at stop. */
const STOP_KILL_GRACE_MS = 1_000;

/** What the keeper needs from the supervisor. */
export interface KeeperDeps {
  readonly config: PoolConfig;
  readonly log: Logger;
  readonly spawn: SpawnWorker;
  readonly clock: Clock;
  readonly wake: () => void;
  readonly notify: Notify;
}

/** Whether a pool with this configuration forks a dispatcher of its own. */
export function forksDispatcher(c: PoolConfig): boolean {
  return c.topology === 'dispatch' && c.dispatcher === undefined;
}

/** The dispatcher child and its restart bookkeeping. */
export class DispatcherKeeper {
  #d: KeeperDeps;
  #current: DispatcherHandle | undefined;
  #restarts = 0;
  /** Consecutive deaths before (or right after) ready: what the short backoff grows on. */
  #bootFailures = 0;
  #nextSpawnAt = 0;
  #lastExit: { readonly reason: string; readonly code: number | null; readonly signal: string | null; readonly at: number } | undefined;
  #shutdownSent = false;
  #generation = 0;

  constructor(deps: KeeperDeps) {
    this.#d = deps;
  }

  /** A reload brought a new configuration; the next dispatcher process uses it (the running one stays). */
  reconfigure(config: PoolConfig): void {
    this.#d = { ...this.#d, config };
  }

  get enabled(): boolean {
    return forksDispatcher(this.#d.config);
  }

  /** The live process, if any. */
  get current(): DispatcherHandle | undefined {
    return this.#current;
  }

  /** Loop step while running (and while workers still drain at stop): reap, enforce deadlines, (re)spawn. */
  stepRun(now: number): void {
    if (!this.enabled && this.#current === undefined) return;
    this.#reap(now);
    this.#enforceDeadlines(now);
    if (this.#current === undefined && this.enabled && now >= this.#nextSpawnAt) this.#spawn(now);
  }

  /**
   * Loop step while stopping: keep it up while workers drain (they reply through it), then ask it to stop, and
   * SIGKILL it at `deadline` at the latest. @returns true once it has exited (or there never was one).
   */
  stepStop(now: number, workersLeft: number, deadline: number, fast: boolean): boolean {
    if (workersLeft > 0) {
      this.stepRun(now);
      return false;
    }
    this.#reap(now);
    const cur = this.#current;
    if (cur === undefined) return true;
    if (!this.#shutdownSent) {
      this.#shutdownSent = true;
      const drainMs = this.#d.config.drainTimeoutMs;
      if (cur.live) cur.state = 'stopping';
      cur.killAt = Math.min(deadline, now + (fast ? FAST_STOP_GRACE_MS : drainMs + STOP_KILL_GRACE_MS));
      // The message, not a signal: a dispatcher with a supervisor leaves its first signal to it (stop-triggers.ts).
      if (!cur.child.connected) cur.signal('SIGTERM');
      else cur.child.send({ type: 'm2pool:shutdown', drainTimeoutMs: fast ? 0 : drainMs }, (err) => { if (err !== null && cur.live) cur.signal('SIGTERM'); });
      this.#d.log.info({ event: 'dispatcher.stop', dispatcherPid: cur.pid, pending: cur.pending }, 'dispatcher.stop');
    }
    this.#enforceDeadlines(now);
    return false;
  }

  /** SIGKILL it now (destroy). */
  kill(reason: DispatcherKillReason): void {
    this.#current?.kill(reason);
  }

  /** Earliest moment the keeper has something to do. */
  nextDeadline(now: number, at: number): number {
    const cur = this.#current;
    if (cur === undefined) return this.enabled ? Math.min(at, Math.max(now, this.#nextSpawnAt)) : at;
    return Math.min(at, cur.killDeadline(this.#d.config, now)?.at ?? at);
  }

  /** Why the pool cannot take requests because of its dispatcher; undefined when the dispatcher is fine. */
  notReadyReason(): string | undefined {
    if (!this.enabled) return undefined;
    const cur = this.#current;
    if (cur === undefined || !cur.live) return `the dispatcher is down (restarts: ${this.#restarts})`;
    if (cur.state === 'booting') return 'the dispatcher is starting';
    if (cur.state === 'stopping') return 'the dispatcher is stopping';
    const servers = this.#d.config.sendSpecs.length;
    if (cur.linksReady !== null && cur.linksReady < servers) return `the dispatcher has ${cur.linksReady} of ${servers} Mongrel2 servers connected`;
    return undefined;
  }

  /** Queue-wait totals of the live dispatcher's last snapshot (undefined: none, or no dispatcher of ours). */
  queueWait(): QueueWaitTotals | undefined {
    return this.#current?.live === true ? this.#current.queueWait : undefined;
  }

  /** Credit in use per worker slot, as the dispatcher last reported it (undefined: no dispatcher of ours). */
  grants(): Readonly<Record<string, number>> | undefined {
    return this.#current?.state === 'ready' ? this.#current.grants : undefined;
  }

  /** The `/pool` view; null when this pool forks no dispatcher. */
  view(now: number): DispatcherView | null {
    if (!this.enabled && this.#current === undefined) return null;
    const cur = this.#current;
    const c = this.#d.config;
    return {
      state: cur?.state ?? 'down',
      pid: cur?.pid ?? null,
      endpoint: forkedDispatcherBind(c),
      restarts: this.#restarts,
      uptimeMs: cur === undefined ? 0 : now - cur.spawnedAt,
      mongrel2Ready: cur?.linksReady ?? null,
      mongrel2Servers: c.sendSpecs.length,
      pending: cur?.pending ?? 0,
      lastExit: this.#lastExit === undefined ? null : { reason: this.#lastExit.reason, code: this.#lastExit.code, signal: this.#lastExit.signal, agoMs: now - this.#lastExit.at },
    };
  }

  #spawn(now: number): void {
    const { config: c, log, clock } = this.#d;
    this.#generation += 1;
    const forked = forkChild(this.#d.spawn, dispatcherSpawnRequest(c, this.#generation));
    if ('error' in forked) {
      log.error({ event: 'dispatcher.spawn-error', err: forked.error }, 'dispatcher.spawn-error');
      this.#failed(now, 'spawn-error', null, null);
      return;
    }
    const h = new DispatcherHandle(forked.child, now);
    this.#current = h;
    this.#shutdownSent = false;
    const ref = { slot: -1, generation: this.#generation, pid: h.pid };
    const message = (m: WorkerMessage): void => {
      const t = clock.now();
      if (m.type === 'm2pool:metrics') {
        h.queueWait = queueWaitTotals(m.metrics) ?? h.queueWait;
        this.#d.notify('dispatcherMetrics', ref, m.metrics);
        return;
      }
      if (m.type === 'm2pool:fatal') log.error({ event: 'dispatcher.fatal', dispatcherPid: h.pid, code: m.code, error: m.message }, 'dispatcher.fatal');
      const act = h.onMessage(m, t);
      if (m.type === 'm2pool:ready' && act) {
        this.#bootFailures = 0;
        log.info({ event: 'dispatcher.ready', dispatcherPid: h.pid, bootMs: t - h.spawnedAt, restarts: this.#restarts }, 'dispatcher.ready');
      } else if (m.type === 'm2pool:heartbeat' && act) {
        log.info({ event: 'dispatcher.mongrel2', dispatcherPid: h.pid, ready: h.linksReady, servers: this.#d.config.sendSpecs.length }, 'dispatcher.mongrel2');
      }
      if (act) this.#d.wake();
    };
    watchChild(h, {
      message,
      ipcError: (err) => log.warn({ event: 'dispatcher.ipc-error', dispatcherPid: h.pid, err: err.message }, 'dispatcher.ipc-error'),
      wake: () => this.#d.wake(),
      now: () => clock.now(),
    });
    this.#d.notify('dispatcherState', ref, 'booting');
    log.info({ event: 'dispatcher.spawn', dispatcherPid: h.pid, bind: forkedDispatcherBind(c), restarts: this.#restarts }, 'dispatcher.spawn');
  }

  #reap(now: number): void {
    const h = this.#current;
    if (h === undefined || h.live) return;
    this.#current = undefined;
    const exit = h.exit ?? { code: null, signal: null, at: now };
    this.#d.notify('dispatcherState', { slot: -1, generation: this.#generation, pid: h.pid }, 'exited');
    if (h.state === 'exited' && this.#shutdownSent) {
      this.#lastExit = { reason: 'stop', code: exit.code, signal: exit.signal, at: now };
      this.#d.log.info({ event: 'dispatcher.exit', dispatcherPid: h.pid, code: exit.code, signal: exit.signal, reason: 'stop' }, 'dispatcher.exit');
      return;
    }
    const reason = h.killReason ?? (exit.signal !== null ? 'signal' : exit.code === 0 ? 'exited' : 'crash');
    const booted = h.readyAt !== null;
    this.#failed(now, reason, exit.code, exit.signal, booted ? undefined : h.fatal);
    this.#d.log.error({ event: 'dispatcher.exit', dispatcherPid: h.pid, code: exit.code, signal: exit.signal, reason, booted, uptimeMs: now - h.spawnedAt, restarts: this.#restarts, respawnInMs: this.#nextSpawnAt - now }, 'dispatcher.exit');
  }

  #failed(now: number, reason: string, code: number | null, signal: NodeJS.Signals | null, fatal?: { readonly code: string; readonly message: string }): void {
    this.#restarts += 1;
    const delay = this.#bootFailures === 0 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** (this.#bootFailures - 1));
    this.#bootFailures += 1;
    this.#nextSpawnAt = now + delay;
    this.#lastExit = { reason, code, signal, at: now };
    this.#d.notify('dispatcherRestart', reason);
    if (fatal !== undefined) this.#d.log.error({ event: 'dispatcher.boot-failed', code: fatal.code, error: fatal.message }, 'dispatcher.boot-failed');
    this.#d.wake();
  }

  #enforceDeadlines(now: number): void {
    const h = this.#current;
    const due = h?.killDeadline(this.#d.config, now);
    if (h === undefined || due === undefined || now < due.at) return;
    this.#d.log.warn({ event: 'dispatcher.kill', dispatcherPid: h.pid, reason: due.reason, silentForMs: h.silentForMs(now) }, 'dispatcher.kill');
    h.kill(due.reason);
  }
}
