/**
 * The supervisor's whole mutable state in one place: phase, desired count, generation, slots, live worker handles,
 * the rollout in progress and the stop in progress. Only the reconcile loop (and the few public methods that record
 * intent) write it.
 * @module
 */
import type { SlotState } from './slot';
import type { WorkerHandle } from './worker-handle';

/** Lifecycle of the supervisor itself. */
export type PoolPhase = 'idle' | 'running' | 'stopping' | 'stopped';

/** A stop in progress. */
export interface StopState {
  mode: 'graceful' | 'fast';
  readonly startedAt: number;
  /** `startedAt + shutdownTimeoutMs`: survivors are SIGKILLed then. */
  readonly deadline: number;
  /** Every worker has been asked to drain. */
  begun: boolean;
  /** Fast stop: every worker got SIGTERM and a short kill deadline. */
  fastBegun: boolean;
  /** Workers SIGKILLed during the stop. */
  killed: number;
}

/** A rolling reload in progress. */
export interface RolloutState {
  readonly generation: number;
  readonly startedAt: number;
  /** A replacement of this generation crash-looped: the rollout stopped, old workers keep serving. */
  failed: boolean;
}

/** State of one pool. */
export class PoolState {
  phase: PoolPhase = 'idle';
  desired: number;
  generation = 0;
  readonly slots = new Map<number, SlotState>();
  /** Every worker not yet reaped (live, or exited and waiting for the loop to account for it). */
  readonly workers = new Set<WorkerHandle>();
  rollout: RolloutState | null = null;
  stop: StopState | null = null;
  /** Facts child events recorded for the next loop pass: workers that reported ready, in order. */
  readonly newlyReady: WorkerHandle[] = [];
  /** Disconnect notices workers could not place, to relay (see `disconnect-relay.ts`). */
  readonly notices: Array<{ readonly from: WorkerHandle; readonly key: string }> = [];

  constructor(desired: number) {
    this.desired = desired;
  }

  /** Live workers in state `ready`. */
  readyCount(): number {
    let n = 0;
    for (const w of this.workers) if (w.live && w.state === 'ready') n++;
    return n;
  }

  /** Live workers. */
  liveCount(): number {
    let n = 0;
    for (const w of this.workers) if (w.live) n++;
    return n;
  }

  /** Slots in slot-number order. */
  sortedSlots(): SlotState[] {
    return [...this.slots.values()].sort((a, b) => a.slot - b.slot);
  }
}
