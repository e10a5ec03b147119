/**
 * Slots: the stable identities 0..maxWorkers-1 that workers fill (puma's index, passed as `M2POOL_WORKER_SLOT`).
 * A slot outlives its workers: it keeps the restart history, the backoff deadline and the breaker state.
 * This file holds the slot record and the pure choices made over slots (which to give up on scale-down, which
 * number a new slot gets).
 * @module
 */
import { EMPTY_HISTORY, type SlotHistory } from './restart-policy';
import type { WorkerHandle } from './worker-handle';

/** One slot of the pool. */
export interface SlotState {
  readonly slot: number;
  /** The slot's worker: booting or serving. Cleared when it exits or starts draining. */
  current: WorkerHandle | undefined;
  /** A replacement booting next to `current` (reload, recycling); promoted once ready. */
  successor: WorkerHandle | undefined;
  history: SlotHistory;
  /** Unexpected exits of this slot's workers since the pool started. */
  restarts: number;
  /** Earliest time a worker may be spawned into this slot (restart backoff). */
  nextSpawnAt: number;
  lastExit: { readonly reason: string; readonly code: number | null; readonly signal: string | null; readonly at: number } | undefined;
}

/** A fresh slot that may spawn at `now`. */
export function newSlot(slot: number, now: number): SlotState {
  return { slot, current: undefined, successor: undefined, history: EMPTY_HISTORY, restarts: 0, nextSpawnAt: now, lastExit: undefined };
}

/** True while the crash-loop breaker of the slot is open. */
export function breakerOpen(s: SlotState): boolean {
  return s.history.breakerOpenedAt !== null;
}

/** True when the slot has a worker that serves or is booting to serve. */
/** Some slot's breaker is open, or it has no worker and waits out a restart backoff: more workers would only crash. */
export function crashLooping(slots: Iterable<SlotState>, now: number): boolean {
  for (const s of slots) if (breakerOpen(s) || (s.current === undefined && s.nextSpawnAt > now)) return true;
  return false;
}

export function slotHasWorker(s: SlotState): boolean {
  return s.current !== undefined || s.successor !== undefined;
}

/**
 * True when `s` is the pool's last slot: every slot's breaker is open, none has a worker, and `s` is the one whose
 * breaker opened (or last probe failed) most recently (ties: the lowest number). Only it probes sooner, so an
 * empty pool tries one worker at a time.
 */
export function isLastSlot(s: SlotState, slots: Iterable<SlotState>): boolean {
  let last: SlotState | undefined;
  for (const x of slots) {
    if (!breakerOpen(x) || slotHasWorker(x)) return false;
    const at = x.history.breakerOpenedAt ?? 0;
    const best = last?.history.breakerOpenedAt ?? -Infinity;
    if (last === undefined || at > best || (at === best && x.slot < last.slot)) last = x;
  }
  return last === s;
}

/**
 * Rank for scale-down, lower goes first: slots with no worker (backoff, open breaker), then booting workers
 * (not serving yet), then serving workers by in-flight count (idle first). Ties: highest slot number first, which
 * keeps slot numbers compact. A busy worker is only chosen when every candidate is busy — and is drained, never
 * killed, before its drain timeout.
 */
function scaleDownRank(s: SlotState): [number, number, number] {
  const w = s.current;
  if (w === undefined) return [0, 0, -s.slot];
  if (w.state === 'booting') return [1, 0, -s.slot];
  return [2, w.inFlight, -s.slot];
}

/** The `count` slots to give up when scaling down, in the order to drain them. */
export function pickScaleDownSlots(slots: Iterable<SlotState>, count: number): SlotState[] {
  const cmp = (a: SlotState, b: SlotState): number => {
    const ra = scaleDownRank(a);
    const rb = scaleDownRank(b);
    return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2];
  };
  return [...slots].sort(cmp).slice(0, Math.max(0, count));
}

/**
 * Number for a new slot: the lowest one neither assigned nor still used by a draining worker, so `/pool` and logs
 * rarely show two live workers with one slot; but never a number at or above `limit` (maxWorkers) — metric
 * labels stay bounded — in which case a draining worker's number is reused.
 */
export function lowestFreeSlot(assigned: ReadonlySet<number>, stillDraining: ReadonlySet<number>, limit: number): number {
  let n = 0;
  while (assigned.has(n) || stillDraining.has(n)) n++;
  if (n < limit) return n;
  n = 0;
  while (assigned.has(n)) n++;
  return n;
}

/** Handled-count threshold for one worker: `maxRequests` plus uniform jitter in [0, jitter]; Infinity when off. */
export function recycleThreshold(maxRequests: number, jitter: number, random: () => number): number {
  if (maxRequests <= 0) return Infinity;
  return maxRequests + Math.floor(random() * (jitter + 1));
}
