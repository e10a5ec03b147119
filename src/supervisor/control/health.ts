/**
 * What `/healthz` answers: whether the supervisor is alive AND still able to serve, with the reason when not.
 * It fails (503) when the loop has stalled or keeps failing, and when no slot can serve: the pool wants workers
 * but every slot is empty, waiting out a restart backoff or an open crash-loop breaker. That is the moment an
 * outer supervisor (a Kubernetes liveness probe, a monitor polling the endpoint) must act or alert; while any
 * worker is ready or booting the pool heals itself and `/healthz` stays 200 (`/readyz` tells about capacity).
 * Pure: the supervisor passes its state and the clock's reading.
 * @module
 */
import type { PoolPhase } from '../arbiter/pool-state';
import { breakerOpen, slotHasWorker, type SlotState } from '../arbiter/slot';

/** Why `/healthz` fails. */
export type UnhealthyReason = 'not-running' | 'loop-stalled' | 'loop-failing' | 'no-worker-can-serve';

/** One empty slot in an unhealthy report: what it waits for and when it tries again (null: never by itself). */
export interface WaitingSlot {
  readonly slot: number;
  readonly waiting: 'backoff' | 'breaker';
  readonly nextSpawnInMs: number | null;
  readonly lastExit: string | null;
}

/** The `/healthz` document. */
export type HealthReport =
  | { readonly live: true; readonly status: 'ok' }
  | { readonly live: false; readonly status: 'unhealthy'; readonly reason: UnhealthyReason; readonly detail: string; readonly slots?: readonly WaitingSlot[] };

/** What {@link assessHealth} reads. */
export interface HealthInput {
  readonly now: number;
  readonly phase: PoolPhase;
  readonly desired: number;
  readonly lastLoopAt: number;
  readonly loopErrors: number;
  /** A loop pass older than this means the loop stalled. */
  readonly livenessWindowMs: number;
  readonly slots: Iterable<SlotState>;
  readonly spawnDueAt: (s: SlotState) => number | null;
}

/** Consecutive failed loop passes after which the supervisor reports itself unhealthy. */
export const MAX_LOOP_ERRORS = 3;

function unhealthy(reason: UnhealthyReason, detail: string, slots?: readonly WaitingSlot[]): HealthReport {
  return slots === undefined ? { live: false, status: 'unhealthy', reason, detail } : { live: false, status: 'unhealthy', reason, detail, slots };
}

/** Assess liveness; see the module comment for the rules. */
export function assessHealth(i: HealthInput): HealthReport {
  if (i.phase !== 'running' && i.phase !== 'stopping') return unhealthy('not-running', `the pool is ${i.phase}`);
  if (i.loopErrors >= MAX_LOOP_ERRORS) return unhealthy('loop-failing', `the last ${i.loopErrors} reconcile passes failed (see supervisor.loop-error logs)`);
  const sinceLoop = i.now - i.lastLoopAt;
  if (sinceLoop >= i.livenessWindowMs) return unhealthy('loop-stalled', `no reconcile pass for ${sinceLoop} ms`);
  if (i.phase !== 'running' || i.desired === 0) return { live: true, status: 'ok' };
  const slots = [...i.slots].sort((a, b) => a.slot - b.slot);
  if (slots.length === 0 || slots.some(slotHasWorker)) return { live: true, status: 'ok' };
  const waiting = slots.map((s): WaitingSlot => {
    const due = i.spawnDueAt(s);
    return { slot: s.slot, waiting: breakerOpen(s) ? 'breaker' : 'backoff', nextSpawnInMs: due === null ? null : Math.max(0, due - i.now), lastExit: s.lastExit?.reason ?? null };
  });
  const open = waiting.filter((w) => w.waiting === 'breaker').length;
  const soonest = waiting.map((w) => w.nextSpawnInMs).filter((n): n is number => n !== null);
  const next = soonest.length === 0 ? 'no slot will respawn without a reload' : `next spawn in ${Math.min(...soonest)} ms`;
  return unhealthy(
    'no-worker-can-serve',
    `no worker is ready or booting: ${waiting.length - open} of ${waiting.length} slots wait out a restart backoff, ${open} have an open crash-loop breaker; ${next}`,
    waiting,
  );
}
