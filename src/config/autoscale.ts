/**
 * The `autoscale` settings (docs/runbook.md "Autoscaling"): their type and defaults, shared by the validator and
 * the supervisor's autoscaler (`supervisor/autoscale-policy.ts` decides with them, `supervisor/autoscaler.ts`
 * samples every `intervalMs`). Autoscaling is off unless `autoscale.min` and `autoscale.max` are given.
 * @module
 */

/** Autoscaler settings (config `autoscale`). */
export interface AutoscaleSettings {
  /** Fewest workers the autoscaler runs; within [minWorkers, maxWorkers]. */
  readonly min: number;
  /** Most workers the autoscaler runs; within [min, maxWorkers]. */
  readonly max: number;
  /** How often the pool is sampled and a decision taken. */
  readonly intervalMs: number;
  /** Target share of the in-flight capacity in use (requests in flight / (ready workers × max in flight)). */
  readonly targetUtilization: number;
  /** Target p95 queue wait at the dispatcher, in ms (dispatch topology only). */
  readonly targetQueueWaitMs: number;
  /** |observed / target − 1| at most this changes nothing. */
  readonly tolerance: number;
  /** A scale-down needs every recommendation of this window to agree. */
  readonly scaleDownWindowMs: number;
  /** No scale-down this long after a scale-up (a flap costs a boot and a drain). */
  readonly flapPenaltyMs: number;
  /** Largest factor and largest addition of one scale-up step. */
  readonly maxStepFactor: number;
  readonly maxStepAdd: number;
  /**
   * Event-loop utilisation (0..1) below which the workers are not the bottleneck: no scale-up. 0 = off (the
   * default: a handler that waits on I/O, like the example's /slow, fills its in-flight slots with an idle loop).
   */
  readonly minBusyEventLoop: number;
  /** Machine CPU use (0..1) above which a scale-up would only add contention; 1 = off. */
  readonly cpuSaturation: number;
  /** Pool memory cap in bytes (0 = none): desired × largest worker RSS stays below it. */
  readonly memoryCapBytes: number;
}

/** Defaults for the fields `autoscale: { min, max }` leaves out. */
export const AUTOSCALE_DEFAULTS: Omit<AutoscaleSettings, 'min' | 'max'> = Object.freeze({
  intervalMs: 5_000,
  targetUtilization: 0.7,
  targetQueueWaitMs: 50,
  tolerance: 0.1,
  scaleDownWindowMs: 300_000,
  flapPenaltyMs: 60_000,
  maxStepFactor: 2,
  maxStepAdd: 4,
  minBusyEventLoop: 0,
  cpuSaturation: 0.9,
  memoryCapBytes: 0,
});
