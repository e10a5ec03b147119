/**
 * The workers' keeper: starting, draining, killing and reaping worker processes on behalf of the reconcile loop
 * (the dispatcher has a keeper of its own, `dispatcher-child/dispatcher-keeper.ts`; both fork and watch their
 * children through `child-handle.ts`). Child-process events (IPC messages, exit, error) only record facts (on the
 * {@link WorkerHandle}, or queued in {@link PoolState}: workers that reported ready, disconnect notices) and wake
 * the loop; the loop then calls {@link WorkerKeeper.reap} to account for exits (slot freed, backoff and breaker
 * fed, `worker.exit` logged) and {@link WorkerKeeper.acknowledge} to act on the queued facts (breakers, the
 * disconnect relay).
 * @module
 */
import type { PoolConfig } from '../../config/schema';
import type { SupervisorMessage, WorkerMessage } from '../../ipc/messages';
import { forkChild, watchChild } from './child-handle';
import type { Clock } from './clock';
import type { Logger } from './logger';
import type { Notify } from './observer';
import type { PoolState } from './pool-state';
import { classifyExit, failurePhase, type DrainReason, type KillReason, type RestartPolicy } from './restart-policy';
import { breakerOpen, isLastSlot, recycleThreshold, type SlotState } from './slot';
import { spawnRequest, type SpawnWorker, type WorkerProcess } from './spawn';
import { logExit, logKill } from './supervisor-log';
import { WorkerHandle } from './worker-handle';
import { DisconnectRelay } from './disconnect-relay';

/** Slack after `drainTimeoutMs` for a drained worker to flush replies and exit. */
export const DRAIN_KILL_GRACE_MS = 1_000;

/** What the keeper needs from the supervisor. */
export interface WorkerKeeperDeps {
  readonly config: PoolConfig;
  readonly log: Logger;
  readonly spawn: SpawnWorker;
  readonly clock: Clock;
  readonly random: () => number;
  readonly policy: RestartPolicy;
  /** Schedule a loop pass soon. */
  readonly wake: () => void;
  /** Report facts to the observer. */
  readonly notify: Notify;
}

/** Process-level operations on the workers of one {@link PoolState}: keeps a worker in every slot. */
export class WorkerKeeper {
  readonly #state: PoolState;
  #d: WorkerKeeperDeps;
  readonly #relay: DisconnectRelay;

  constructor(state: PoolState, deps: WorkerKeeperDeps) {
    this.#state = state;
    this.#d = deps;
    // A request shows up in a heartbeat within two intervals of starting; a held notice waits a little longer.
    this.#relay = new DisconnectRelay((w, msg) => this.send(w, msg), 3 * deps.config.heartbeatIntervalMs);
  }

  /** A reload brought a new configuration: new workers and restart decisions use it from now on. */
  reconfigure(config: PoolConfig, policy: RestartPolicy): void {
    this.#d = { ...this.#d, config, policy };
    this.#relay.holdMs = 3 * config.heartbeatIntervalMs;
  }

  /** Send one IPC message to a worker; a closed channel is logged at debug, never thrown. */
  send(w: WorkerHandle, msg: SupervisorMessage): void {
    if (!w.child.connected) return;
    w.child.send(msg, (err) => {
      if (err !== null) this.#d.log.debug({ event: 'worker.ipc-error', slot: w.slot, pid: w.pid, err: err.message }, 'worker.ipc-error');
    });
  }

  /**
   * When a worker may next be spawned into the empty slot `s`: its backoff deadline, or, while its breaker is open,
   * the breaker's probe (null: probing is off, only a reload closes the breaker) — sooner for the pool's last slot.
   */
  spawnDueAt(s: SlotState): number | null {
    return breakerOpen(s) ? this.#d.policy.probeAt(s.history, isLastSlot(s, this.#state.slots.values())) : s.nextSpawnAt;
  }

  /** Fork a worker for `s` in the current generation. A fork that throws becomes an already-exited handle. */
  spawnInto(s: SlotState, now: number): WorkerHandle {
    const { config: c, log } = this.#d;
    if (breakerOpen(s)) {
      const { probeAfterMs } = c.crashLoop;
      log.warn({ event: 'slot.probe', slot: s.slot, openForMs: now - (s.history.breakerOpenedAt ?? now), probeAfterMs, lastReason: s.lastExit?.reason }, 'slot.probe');
    }
    const gen = this.#state.generation;
    const onState = (h: WorkerHandle, state: WorkerHandle['state']): void => this.#d.notify('workerState', h, state);
    const limits = {
      maxHandled: recycleThreshold(c.maxRequests, c.maxRequestsJitter, this.#d.random),
      maxRssBytes: c.maxRssBytes > 0 ? c.maxRssBytes : Infinity,
    };
    const forked = forkChild(this.#d.spawn, spawnRequest(c, s.slot, gen));
    if ('error' in forked) {
      // fork() itself threw (EAGAIN, EMFILE): account for it like a crash so backoff and the breaker apply.
      const dead = new WorkerHandle(s.slot, gen, DEAD_PROCESS, now, limits, onState);
      dead.spawnError = forked.error;
      dead.markExited(null, null, now);
      this.#state.workers.add(dead);
      this.#d.wake();
      return dead;
    }
    const child = forked.child;
    const w = new WorkerHandle(s.slot, gen, child, now, limits, onState);
    this.#state.workers.add(w);
    this.#d.notify('workerState', w, 'booting');
    watchChild(w, {
      message: (m) => this.#onMessage(w, m),
      ipcError: (err) => log.warn({ event: 'worker.ipc-error', slot: w.slot, pid: w.pid, err: err.message }, 'worker.ipc-error'),
      wake: () => this.#d.wake(),
      now: () => this.#d.clock.now(),
    });
    // The command line, because `process.title` (`m2pool worker N gen G`) replaces it in ps and /proc.
    log.info({ event: 'worker.spawn', slot: s.slot, pid: w.pid, generation: gen, restarts: s.restarts, ...(child.spawnargs === undefined ? {} : { args: child.spawnargs.slice(2) }) }, 'worker.spawn');
    return w;
  }

  /** Ask a serving worker to drain; it is SIGKILLed only if still alive after its drain budget plus grace. */
  drain(w: WorkerHandle, reason: DrainReason, now: number): void {
    if (!w.live || w.state === 'draining') return;
    const c = this.#d.config;
    this.#d.log.info({ event: 'worker.drain', slot: w.slot, pid: w.pid, generation: w.generation, reason, inFlight: w.inFlight }, 'worker.drain');
    w.beginDrain(reason, now, c.drainTimeoutMs, now + c.drainTimeoutMs + DRAIN_KILL_GRACE_MS, 'drain-timeout');
  }

  /** SIGKILL with a logged reason. */
  kill(w: WorkerHandle, reason: KillReason, fields: Record<string, unknown>): void {
    logKill(this.#d.log, w, reason, fields);
    if (this.#state.stop !== null) this.#state.stop.killed += 1;
    w.kill(reason);
  }

  /** Account for every exited worker: free its slot, feed backoff and the breaker, log `worker.exit`. */
  reap(now: number): void {
    const st = this.#state;
    for (const w of st.workers) {
      if (w.live) continue;
      st.workers.delete(w);
      const exit = w.exit ?? { code: null, signal: null, at: now };
      const verdict = classifyExit({ ...exit, drainReason: w.drainReason, killReason: w.killReason, spawnError: w.spawnError !== undefined });
      const s = [...st.slots.values()].find((x) => x.current === w || x.successor === w);
      let extra: Record<string, unknown> = {};
      if (s !== undefined) {
        if (s.current === w) s.current = undefined;
        else s.successor = undefined;
        s.lastExit = { reason: verdict.reason, code: exit.code, signal: exit.signal, at: now };
        const uptime = w.readyAt === null ? 0 : now - w.readyAt;
        if (verdict.failure) {
          s.restarts += 1;
          const phase = failurePhase(verdict, w.readyAt !== null);
          const v = this.#d.policy.onFailure(s.history, now, uptime, phase);
          s.history = v.history;
          s.nextSpawnAt = now + v.delayMs;
          extra = breakerOpen(s) ? { failedWhile: phase, breaker: 'open' } : { failedWhile: phase, respawnInMs: v.delayMs };
          if (v.breakerOpened) this.#onBreakerOpen(s, w, verdict.reason);
          else this.#d.notify('restart', s.slot, verdict.reason);
        } else {
          s.history = this.#d.policy.onCleanExit(s.history, uptime);
        }
      }
      logExit(this.#d.log, w, verdict, now, { restarts: s?.restarts ?? 0, ...extra });
      this.#d.notify('workerExit', w, verdict);
    }
  }

  /**
   * Loop step: act on what child events recorded since the last pass — a worker that reported ready clears its
   * slot's boot failures (closing an open breaker) and learns whether relaying is on; queued disconnect notices
   * go to the workers waiting on their connection; relaying follows the latest heartbeats and exits. Observers
   * hear `workerReady` for each worker acknowledged (the log levels catch a worker up that booted during a change).
   */
  acknowledge(now: number): void {
    const st = this.#state;
    for (const w of st.newlyReady.splice(0)) {
      this.#closeBreakerOf(w, now);
      if (w.live) this.#relay.ready(w);
      this.#d.notify('workerReady', w);
    }
    for (const { from, key } of st.notices.splice(0)) {
      const to = this.#relay.forward(from, key, st.workers, now);
      this.#d.log.debug({ event: 'request.disconnect-relay', slot: from.slot, pid: from.pid, generation: from.generation, workers: to, held: to === 0 }, 'request.disconnect-relay');
    }
    if (this.#relay.update(st.workers, now)) {
      this.#d.log.debug({ event: 'pool.relay-disconnects', on: this.#relay.on }, 'pool.relay-disconnects');
    }
  }

  #onMessage(w: WorkerHandle, m: WorkerMessage): void {
    const log = this.#d.log;
    const now = this.#d.clock.now();
    const hadWaiting = w.waiting.size > 0;
    let act = w.onMessage(m, now);
    const id = { slot: w.slot, pid: w.pid, generation: w.generation };
    if (m.type === 'm2pool:ready' && act) {
      log.info({ event: 'worker.ready', ...id, bootMs: now - w.spawnedAt, endpoints: m.endpoints }, 'worker.ready');
      this.#state.newlyReady.push(w);
    } else if (m.type === 'm2pool:draining' && act) {
      log.warn({ event: 'worker.drain', ...id, reason: 'external', inFlight: m.inFlight }, 'worker.drain');
    } else if (m.type === 'm2pool:fatal') {
      log.error({ event: 'worker.fatal', ...id, code: m.code, error: m.message }, 'worker.fatal');
    } else if (m.type === 'm2pool:heartbeat') {
      this.#d.notify('heartbeat', w, { inFlight: m.inFlight, handled: m.handled, loopLagMs: m.loopLagMs, rssBytes: m.rssBytes, maxInFlight: w.maxInFlight, inFlightMean: w.inFlightMean });
      act ||= hadWaiting || w.waiting.size > 0; // the relay follows what workers wait on
    } else if (m.type === 'm2pool:metrics') {
      this.#d.notify('metrics', w, m.metrics);
    } else if (m.type === 'm2pool:disconnect') {
      this.#state.notices.push({ from: w, key: m.key });
      act = true;
    }
    if (act) this.#d.wake();
  }

  /** A worker of a slot came up: its boot failures no longer count; a probe worker closes an open breaker. */
  #closeBreakerOf(w: WorkerHandle, now: number): void {
    const s = [...this.#state.slots.values()].find((x) => x.current === w);
    if (s === undefined) return;
    const openedAt = s.history.breakerOpenedAt;
    s.history = this.#d.policy.onReady(s.history);
    if (openedAt === null) return;
    this.#d.log.info({ event: 'slot.recovered', slot: s.slot, pid: w.pid, generation: w.generation, openForMs: now - openedAt }, 'slot.recovered');
    s.nextSpawnAt = now;
    this.#d.notify('crashloop', s.slot, false);
  }

  #onBreakerOpen(s: SlotState, w: WorkerHandle, reason: string): void {
    const { maxFailures, windowMs } = this.#d.config.crashLoop;
    this.#d.log.error(
      { event: 'slot.crashloop', slot: s.slot, generation: w.generation, failures: s.history.failures.length, maxFailures, windowMs, lastReason: reason, fatal: w.fatal },
      'slot.crashloop',
    );
    this.#d.notify('crashloop', s.slot, true);
    const r = this.#state.rollout;
    if (r !== null && !r.failed && w.generation === r.generation) {
      r.failed = true;
      this.#d.log.error({ event: 'pool.reload', outcome: 'failed', generation: r.generation, slot: s.slot }, 'pool.reload');
    }
  }
}

/** Stand-in process for a fork() that threw: no pid, nothing to signal. */
const DEAD_PROCESS: WorkerProcess = {
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
