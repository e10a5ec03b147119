/**
 * The JSON shape of `GET /pool` (also the reply of the pm2 `status` action and the input of `m2pool status`).
 * @module
 */
import { breakerOpen, type SlotState } from '../arbiter/slot';
import type { Topology } from '../../config/schema';
import type { DispatcherView } from '../dispatcher-child/dispatcher-handle';
import type { AutoscaleView } from '../autoscaling/autoscaler';
import type { PoolPhase } from '../arbiter/pool-state';
import type { WorkerHandle, WorkerView } from '../arbiter/worker-handle';

/** Lifecycle of the supervisor itself (defined with the state that holds it). */
export type { PoolPhase };

/** A slot with failure history: its breaker state and when it may respawn. */
export interface BreakerView {
  readonly slot: number;
  /** True when the crash-loop breaker stopped this slot respawning (closed by a successful probe or a reload). */
  readonly open: boolean;
  /** Failures inside the crash-loop window. */
  readonly failures: number;
  readonly restarts: number;
  /** Milliseconds until the next spawn attempt (an open breaker's probe); null when the slot has a worker, or its breaker is open and probing is off. */
  readonly nextSpawnInMs: number | null;
  readonly lastExit: { readonly reason: string; readonly code: number | null; readonly signal: string | null; readonly agoMs: number } | null;
}

/** A rolling reload in progress (or one that failed: a replacement crash-looped; old workers keep serving). */
export interface RolloutView {
  readonly generation: number;
  readonly startedAgoMs: number;
  readonly failed: boolean;
}

/** A worker as `/pool` shows it: in the dispatch topology with the credit its dispatcher says it uses. */
export interface PoolWorkerView extends WorkerView {
  /** Credit in use at the pool's dispatcher (its requests there); null when no dispatcher of ours reports it. */
  readonly grant: number | null;
}

/** Body of `GET /pool`. */
export interface PoolSnapshot {
  readonly phase: PoolPhase;
  readonly topology: Topology;
  /** The pool's own dispatcher (dispatch topology); null in direct mode or when joining a remote one. */
  readonly dispatcher: DispatcherView | null;
  /** The remote dispatcher this pool joined (`--dispatcher`), else null. */
  readonly remoteDispatcher: string | null;
  /** Why `/readyz` fails; null when ready. */
  readonly notReadyReason: string | null;
  readonly pid: number;
  readonly desired: number;
  readonly ready: number;
  readonly booting: number;
  readonly draining: number;
  readonly generation: number;
  readonly minReady: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** The autoscaler's bounds and last decision with its signals; null while autoscaling is off (absent: an older supervisor). */
  readonly autoscale?: AutoscaleView | null;
  readonly rollout: RolloutView | null;
  /** Every live worker, by slot then age (a slot shows two while a replacement boots or an old one drains). */
  readonly workers: readonly PoolWorkerView[];
  readonly breaker: readonly BreakerView[];
}

/** Inputs of {@link buildSnapshot}: the supervisor's state at one instant. */
export interface SnapshotInput {
  readonly now: number;
  readonly topology: Topology;
  readonly dispatcher: DispatcherView | null;
  readonly remoteDispatcher: string | null;
  /** Credit in use per slot as the dispatcher reports it (undefined: none reported). */
  readonly grants: Readonly<Record<string, number>> | undefined;
  readonly notReadyReason: string | null;
  readonly phase: PoolPhase;
  readonly desired: number;
  readonly generation: number;
  readonly limits: { readonly minReady: number; readonly minWorkers: number; readonly maxWorkers: number };
  /** @default null (off) */
  readonly autoscale?: AutoscaleView | null;
  readonly rollout: { readonly generation: number; readonly startedAt: number; readonly failed: boolean } | null;
  /** Crash-loop window: older failures no longer count. */
  readonly crashWindowMs: number;
  /** When a worker may next be spawned into an empty slot (backoff, or an open breaker's probe); null = never. */
  readonly spawnDueAt: (s: SlotState) => number | null;
  readonly workers: Iterable<WorkerHandle>;
  readonly slots: Iterable<SlotState>;
}

/** Assemble the `/pool` document. */
export function buildSnapshot(input: SnapshotInput): PoolSnapshot {
  const { now } = input;
  const slots = [...input.slots].sort((a, b) => a.slot - b.slot);
  const restartsOf = new Map(slots.map((s) => [s.slot, s.restarts]));
  const live = [...input.workers]
    .filter((w) => w.live)
    .sort((a, b) => a.slot - b.slot || a.spawnedAt - b.spawnedAt);
  const count = (state: string): number => live.filter((w) => w.state === state).length;
  const nextSpawnIn = (s: SlotState): number | null => {
    const due = s.current === undefined ? input.spawnDueAt(s) : null;
    return due === null ? null : Math.max(0, due - now);
  };
  const recent = (s: SlotState): number => s.history.failures.filter((t) => now - t < input.crashWindowMs).length;
  const grantOf = (slot: number): number | null => (input.grants === undefined ? null : input.grants[String(slot)] ?? 0);
  return {
    phase: input.phase,
    topology: input.topology,
    dispatcher: input.dispatcher,
    remoteDispatcher: input.remoteDispatcher,
    notReadyReason: input.notReadyReason,
    pid: process.pid,
    desired: input.desired,
    ready: count('ready'),
    booting: count('booting'),
    draining: count('draining'),
    generation: input.generation,
    ...input.limits,
    autoscale: input.autoscale ?? null,
    rollout:
      input.rollout === null
        ? null
        : { generation: input.rollout.generation, startedAgoMs: now - input.rollout.startedAt, failed: input.rollout.failed },
    workers: live.map((w) => ({ ...w.view(now, restartsOf.get(w.slot) ?? 0), grant: w.state === 'ready' || w.state === 'draining' ? grantOf(w.slot) : null })),
    breaker: slots
      .filter((s) => breakerOpen(s) || recent(s) > 0 || s.current === undefined)
      .map((s) => ({
        slot: s.slot,
        open: breakerOpen(s),
        failures: recent(s),
        restarts: s.restarts,
        nextSpawnInMs: nextSpawnIn(s),
        lastExit:
          s.lastExit === undefined
            ? null
            : { reason: s.lastExit.reason, code: s.lastExit.code, signal: s.lastExit.signal, agoMs: now - s.lastExit.at },
      })),
  };
}
