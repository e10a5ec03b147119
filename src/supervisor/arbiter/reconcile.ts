/**
 * The steps of one reconcile pass (gunicorn's `murder_workers` + `manage_workers`, plus surge replacement):
 * time out silent workers, promote ready replacements, scale down by draining, scale up, replace outdated or
 * worn-out workers (`maxSurge` at a time), respawn empty slots after their backoff, and — when stopping — drain
 * everything and enforce the stop deadlines. Pure functions over {@link PoolState}; all process work goes through
 * {@link WorkerKeeper}.
 * @module
 */
import type { PoolConfig } from '../../config/schema';
import type { Logger } from './logger';
import type { Notify } from './observer';
import type { PoolState } from './pool-state';
import type { ScaleResult } from './scale-request';
import { breakerOpen, lowestFreeSlot, newSlot, pickScaleDownSlots } from './slot';
import { DRAIN_KILL_GRACE_MS, type WorkerKeeper } from './worker-keeper';

/** How long a fast stop waits after SIGTERM before SIGKILL. */
export const FAST_STOP_GRACE_MS = 1_000;
/** The loop runs at least this often, so `/healthz` can tell it is alive. */
export const MAX_TICK_MS = 1_000;

/** What every step needs. */
export interface StepContext {
  readonly state: PoolState;
  readonly keeper: WorkerKeeper;
  readonly config: PoolConfig;
  readonly log: Logger;
  readonly notify: Notify;
}

/**
 * THE way to change the desired worker count (CLI, admin API, signals, pm2, a re-read config, an autoscaler):
 * checks it against [minWorkers, maxWorkers], logs `pool.scale` with its `source` and tells the observer. The
 * loop then moves the processes toward it; callers outside a loop pass wake it.
 */
export function setDesired({ state, config, log, notify }: StepContext, n: number, source: string): ScaleResult {
  if (state.phase === 'stopping' || state.phase === 'stopped') return { ok: false, status: 409, error: 'the pool is stopping' };
  if (!Number.isSafeInteger(n)) return { ok: false, status: 400, error: `workers must be an integer, got ${String(n)}` };
  const { minWorkers: lo, maxWorkers: hi } = config;
  if (n < lo || n > hi) return { ok: false, status: 400, error: `cannot scale to ${n} workers: allowed range is ${lo}..${hi} (minWorkers..maxWorkers)` };
  const previous = state.desired;
  state.desired = n;
  log.info({ event: 'pool.scale', from: previous, to: n, source }, 'pool.scale');
  notify('desired', previous, n);
  return { ok: true, previous, desired: n };
}

/** Boot timeout before ready, heartbeat timeout after, kill deadline while draining: SIGKILL and say why. */
export function enforceDeadlines({ state, keeper, config: c }: StepContext, now: number): void {
  for (const w of state.workers) {
    const due = w.killDeadline(c, now);
    if (due === undefined || now < due.at) continue;
    const p = w.phase;
    if (due.reason === 'boot-timeout') keeper.kill(w, due.reason, { bootMs: now - w.spawnedAt, bootTimeoutMs: c.bootTimeoutMs });
    else if (due.reason === 'heartbeat-timeout') keeper.kill(w, due.reason, { silentForMs: w.silentForMs(now), heartbeatTimeoutMs: c.heartbeatTimeoutMs, inFlight: w.inFlight, loopLagMs: w.loopLagMs });
    else keeper.kill(w, due.reason, { drainingForMs: p.state === 'draining' ? now - p.startedAt : 0, inFlight: w.inFlight });
  }
}

/** One pass while running. */
export function stepRun(ctx: StepContext, now: number): void {
  const { state, keeper, notify } = ctx;
  enforceDeadlines(ctx, now);
  for (const s of state.slots.values()) {
    // A worker that started draining on its own (signalled from outside) no longer holds its slot.
    if (s.successor?.state === 'draining') s.successor = undefined;
    if (s.current?.state === 'draining') {
      s.current = s.successor;
      s.successor = undefined;
      notify('restart', s.slot, 'external');
    }
    if (s.successor?.state === 'ready') {
      const old = s.current;
      s.current = s.successor;
      s.successor = undefined;
      if (old !== undefined) {
        const reason = old.recycleReason ?? (old.generation < s.current.generation ? 'reload' : 'superseded');
        keeper.drain(old, reason, now);
        notify('restart', s.slot, reason);
      }
    }
  }
  scaleDown(ctx, now);
  scaleUp(ctx, now);
  replaceOutdated(ctx, now);
  for (const s of state.sortedSlots()) {
    if (s.current !== undefined) continue;
    const due = keeper.spawnDueAt(s);
    if (due !== null && now >= due) s.current = keeper.spawnInto(s, now);
  }
  checkRollout(ctx, now);
}

/** Give up surplus slots: drain their workers (idle or least loaded first), never kill them. */
function scaleDown({ state, keeper, notify }: StepContext, now: number): void {
  const excess = state.slots.size - state.desired;
  if (excess <= 0) return;
  for (const s of pickScaleDownSlots(state.slots.values(), excess)) {
    if (s.successor !== undefined) keeper.drain(s.successor, 'scale-down', now);
    if (s.current !== undefined) keeper.drain(s.current, 'scale-down', now);
    state.slots.delete(s.slot);
    notify('slotRemoved', s.slot);
  }
}

function scaleUp({ state, config }: StepContext, now: number): void {
  if (state.slots.size >= state.desired) return;
  const inUse = new Set([...state.workers].filter((w) => w.live).map((w) => w.slot));
  while (state.slots.size < state.desired) {
    const n = lowestFreeSlot(new Set(state.slots.keys()), inUse, config.maxWorkers);
    state.slots.set(n, newSlot(n, now));
  }
}

/** Reload and recycling: boot a replacement next to an outdated or worn-out ready worker, `maxSurge` at a time. */
function replaceOutdated({ state, keeper, config }: StepContext, now: number): void {
  const slots = state.sortedSlots();
  let surge = slots.filter((s) => s.successor !== undefined).length;
  for (const s of slots) {
    const cur = s.current;
    if (cur === undefined || breakerOpen(s)) continue;
    const outdated = cur.generation < state.generation && state.rollout?.failed !== true;
    if (cur.state === 'booting' && outdated) {
      keeper.drain(cur, 'reload', now); // not serving yet: nothing to protect, replace it right away
      s.current = undefined;
      continue;
    }
    if (cur.state !== 'ready' || s.successor !== undefined || (!outdated && cur.recycleReason === undefined)) continue;
    if (surge >= config.maxSurge) continue;
    if (now < s.nextSpawnAt) {
      surge += 1; // its replacement failed and waits out the backoff: it keeps its surge token
      continue;
    }
    s.successor = keeper.spawnInto(s, now);
    surge += 1;
  }
}

function checkRollout({ state, log }: StepContext, now: number): void {
  const r = state.rollout;
  if (r === null || r.failed) return;
  const done = [...state.slots.values()].every(
    (s) => s.successor === undefined && s.current !== undefined && s.current.state === 'ready' && s.current.generation >= r.generation,
  );
  if (!done) return;
  log.info({ event: 'pool.reload', outcome: 'complete', generation: r.generation, durationMs: now - r.startedAt }, 'pool.reload');
  state.rollout = null;
}

/**
 * Record a stop (the loop's stop steps carry it out): drain every worker and SIGKILL what is left after
 * `shutdownTimeoutMs`; `'fast'`: SIGTERM, then SIGKILL after a short grace. A later call joins the stop, and
 * `'fast'` hurries it.
 */
export function beginStop({ state: st, config: c, log }: StepContext, mode: 'graceful' | 'fast', now: number): void {
  if (st.stop === null) {
    st.stop = { mode, startedAt: now, deadline: now + c.shutdownTimeoutMs, begun: false, fastBegun: false, killed: 0 };
    st.phase = 'stopping';
    log.info({ event: 'pool.stop', outcome: 'started', mode, workers: st.liveCount(), shutdownTimeoutMs: c.shutdownTimeoutMs }, 'pool.stop');
  } else if (mode === 'fast' && st.stop.mode !== 'fast') {
    st.stop.mode = 'fast';
    log.warn({ event: 'pool.stop', outcome: 'hurried', mode }, 'pool.stop');
  }
}

/**
 * One pass while stopping: ask every worker to drain (once), hurry them on a fast stop, enforce deadlines.
 * @returns true once every worker has exited and been reaped.
 */
export function stepStop(ctx: StepContext, now: number): boolean {
  const { state, config: c } = ctx;
  const st = state.stop;
  if (st === null) return false;
  if (!st.begun) {
    st.begun = true;
    const own = now + c.drainTimeoutMs + DRAIN_KILL_GRACE_MS;
    for (const w of state.workers) {
      if (w.state === 'draining') w.hurry(st.deadline, 'shutdown-timeout');
      else w.beginDrain('stop', now, c.drainTimeoutMs, Math.min(own, st.deadline), own <= st.deadline ? 'drain-timeout' : 'shutdown-timeout');
    }
  }
  if (st.mode === 'fast' && !st.fastBegun) {
    st.fastBegun = true;
    for (const w of state.workers) {
      w.signal('SIGTERM');
      w.hurry(now + FAST_STOP_GRACE_MS, 'fast-stop');
    }
  }
  enforceDeadlines(ctx, now);
  return state.workers.size === 0;
}

/** Earliest moment the loop has something to do, capped at {@link MAX_TICK_MS} from now. */
export function nextDeadline({ state, keeper, config: c }: StepContext, now: number): number {
  let at = now + MAX_TICK_MS;
  if (state.stop === null) {
    for (const s of state.slots.values()) {
      const due = s.current === undefined ? keeper.spawnDueAt(s) : null;
      if (due !== null) at = Math.min(at, due);
    }
  }
  for (const w of state.workers) at = Math.min(at, w.killDeadline(c, now)?.at ?? at);
  return at;
}
