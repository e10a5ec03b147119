/**
 * The autoscaler's decision rule, as a pure function of the configuration, the previous state and one sample of
 * the pool (like `restart-policy.ts`: no clock, no I/O, tested with recorded load curves).
 *
 * The rule is Kubernetes' HPA algorithm with its safety rails:
 * - desired = ceil(current × observed / target) for each signal (utilisation of the in-flight capacity, queue
 *   wait p95 where a dispatcher measures it); the largest wins; within the tolerance band nothing changes;
 * - up at once, bounded per step (at most ×2 and at most +4 workers);
 * - down only to the highest recommendation of the stabilisation window (so every recommendation of the window
 *   must have agreed), and not within the flap penalty after a scale-up;
 * - never below `min` or above `max`; nothing while a rolling reload runs; no scale-up while a slot is crash-looping
 *   (more workers would only crash too) and no change at all while the pool is below its desired size (workers of
 *   the last step still booting: the ready ones look busier than the pool will be);
 * - guards: no scale-up when the machine's CPUs are saturated (more workers than free cores is slower, measured in
 *   the bench) or, when `minBusyEventLoop` is set, when the workers' event loops are not busy (they are not the
 *   bottleneck); a memory cap bounds the size.
 * @module
 */
import type { AutoscaleSettings } from '../../config/autoscale';

/** The settings the rule reads (config `autoscale`, `config/autoscale.ts`, without the sampling interval). */
export type AutoscaleConfig = Omit<AutoscaleSettings, 'intervalMs'>;

export { AUTOSCALE_DEFAULTS } from '../../config/autoscale';

/** One interval's view of the pool. */
export interface AutoscaleSample {
  /** Milliseconds on any monotonic clock. */
  readonly now: number;
  /** The pool's desired worker count now. */
  readonly desired: number;
  readonly readyWorkers: number;
  /** Requests in flight over all ready workers (a mean over the interval is best). */
  readonly inFlight: number;
  /** Max in flight per worker (its grant in the dispatch topology). */
  readonly capacityPerWorker: number;
  /** p95 queue wait over the interval in ms; undefined without a dispatcher. */
  readonly queueWaitP95Ms?: number | undefined;
  /** Highest event-loop utilisation of the ready workers over the interval (0..1); undefined = unknown. */
  readonly eventLoopUtilization?: number | undefined;
  /** The machine's CPU use over the interval (0..1); undefined = unknown. */
  readonly cpuUtilization?: number | undefined;
  /** Largest worker RSS in bytes. */
  readonly largestWorkerRssBytes: number;
  readonly reloading: boolean;
  /** Some slot's breaker is open or it is in restart backoff. */
  readonly crashLooping: boolean;
}

/** What the policy remembers between intervals. */
export interface AutoscaleState {
  /** Recommendations of the stabilisation window, oldest first. */
  readonly recommendations: ReadonlyArray<{ readonly at: number; readonly desired: number }>;
  /** When the last scale-up took effect. */
  readonly lastScaleUpAt: number | undefined;
  /** The first sample's time: no scale-down before a whole window was observed. */
  readonly startedAt: number | undefined;
}

/** The state before the first interval. */
export const INITIAL_AUTOSCALE_STATE: AutoscaleState = Object.freeze({ recommendations: Object.freeze([]), lastScaleUpAt: undefined, startedAt: undefined });

/** Why the policy decided what it did (the `reason` label of `m2pool_autoscale_decisions_total`). */
export type AutoscaleReason =
  | 'utilization'
  | 'queue-wait'
  | 'within-tolerance'
  | 'stabilizing'
  | 'flap-penalty'
  | 'reload'
  | 'crash-loop'
  | 'below-desired'
  | 'cpu-saturated'
  | 'event-loop-idle'
  | 'memory-cap'
  | 'min'
  | 'max';

/** One decision: the new desired count (equal to the sample's when nothing changes). */
export interface AutoscaleDecision {
  readonly desired: number;
  readonly direction: 'up' | 'down' | 'none';
  readonly reason: AutoscaleReason;
  /** The signal values the decision used, for the `pool.autoscale` log line. */
  readonly utilization: number;
  readonly recommendation: number;
}

/** Decide one interval. Returns the decision and the state for the next interval. */
export function decideAutoscale(
  config: AutoscaleConfig,
  state: AutoscaleState,
  sample: AutoscaleSample,
): { decision: AutoscaleDecision; state: AutoscaleState } {
  const current = sample.desired;
  const capacity = Math.max(1, sample.readyWorkers) * Math.max(1, sample.capacityPerWorker);
  const utilization = sample.inFlight / capacity;
  const byUtilization = { ratio: utilization / config.targetUtilization, reason: 'utilization' as const };
  const byQueue =
    sample.queueWaitP95Ms === undefined ? undefined : { ratio: sample.queueWaitP95Ms / config.targetQueueWaitMs, reason: 'queue-wait' as const };
  const signal = byQueue !== undefined && byQueue.ratio > byUtilization.ratio ? byQueue : byUtilization;
  // The ratio applies to the workers that produced it (ready ones); while some boot, current is the better base.
  const base = Math.max(current, 1);
  const raw = Math.abs(signal.ratio - 1) <= config.tolerance ? current : Math.ceil(base * signal.ratio);
  const recommendation = clamp(raw, config.min, config.max);
  const windowStart = sample.now - config.scaleDownWindowMs;
  const recommendations = [...state.recommendations.filter((r) => r.at > windowStart), { at: sample.now, desired: recommendation }];
  const next = (decision: AutoscaleDecision, lastScaleUpAt = state.lastScaleUpAt): { decision: AutoscaleDecision; state: AutoscaleState } => ({
    decision,
    state: { recommendations, lastScaleUpAt, startedAt: state.startedAt ?? sample.now },
  });
  const hold = (reason: AutoscaleReason): { decision: AutoscaleDecision; state: AutoscaleState } =>
    next({ desired: current, direction: 'none', reason, utilization, recommendation });

  // Outside [min, max] (the bounds changed by a reload, or a manual scale before autoscaling was on): fix it first.
  if (current < config.min) return next({ desired: config.min, direction: 'up', reason: 'min', utilization, recommendation }, sample.now);
  if (current > config.max) return next({ desired: config.max, direction: 'down', reason: 'max', utilization, recommendation });
  if (sample.reloading) return hold('reload');

  if (recommendation > current) {
    if (sample.crashLooping) return hold('crash-loop');
    // The last step's workers still boot: the ready ones look busier than the pool will be (HPA counts ready pods only).
    if (sample.readyWorkers < current) return hold('below-desired');
    if (sample.cpuUtilization !== undefined && sample.cpuUtilization > config.cpuSaturation) return hold('cpu-saturated');
    if (sample.eventLoopUtilization !== undefined && sample.eventLoopUtilization < config.minBusyEventLoop) return hold('event-loop-idle');
    const step = Math.min(recommendation, current * config.maxStepFactor, current + config.maxStepAdd);
    const byMemory = config.memoryCapBytes > 0 && sample.largestWorkerRssBytes > 0 ? Math.floor(config.memoryCapBytes / sample.largestWorkerRssBytes) : Infinity;
    const desired = Math.min(step, byMemory);
    if (desired <= current) return hold('memory-cap');
    return next({ desired, direction: 'up', reason: desired < step ? 'memory-cap' : signal.reason, utilization, recommendation }, sample.now);
  }

  if (recommendation < current) {
    if (sample.readyWorkers < current) return hold('below-desired');
    if (state.lastScaleUpAt !== undefined && sample.now - state.lastScaleUpAt < config.flapPenaltyMs) return hold('flap-penalty');
    // HPA's stabilisation: go down only as far as the highest recommendation of the whole window.
    const stable = Math.max(...recommendations.map((r) => r.desired));
    const observedFor = sample.now - (state.startedAt ?? sample.now);
    if (stable >= current || observedFor < config.scaleDownWindowMs) return hold('stabilizing');
    return next({ desired: stable, direction: 'down', reason: signal.reason, utilization, recommendation });
  }
  return hold('within-tolerance');
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}
