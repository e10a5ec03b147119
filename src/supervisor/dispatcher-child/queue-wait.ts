/**
 * The dispatcher's queue wait as the autoscaler reads it: the cumulative `m2pool_queue_wait_seconds` buckets of
 * each snapshot the dispatcher pushes (validated like every snapshot: architecture.md invariant 6), and the p95
 * of the waits between two snapshots, interpolated within a bucket as PromQL's `histogram_quantile` does.
 * @module
 */
import { DISPATCHER_METRICS, QUEUE_WAIT_BUCKETS } from '../../metrics/dispatcher-definitions';
import { DISPATCHER_SPECS } from '../../metrics/dispatcher-families';
import { parseSnapshot } from '../../metrics/snapshot';

/** Cumulative queue-wait counts of one dispatcher process: one per bound of {@link QUEUE_WAIT_BUCKETS}, then all. */
export interface QueueWaitTotals {
  readonly buckets: readonly number[];
  readonly count: number;
}

/** The queue-wait totals of a pushed snapshot; undefined when it is invalid or has none. */
export function queueWaitTotals(payload: unknown): QueueWaitTotals | undefined {
  const parsed = parseSnapshot(payload, DISPATCHER_SPECS);
  if (!parsed.ok) return undefined;
  const family = parsed.snapshot.get(DISPATCHER_METRICS.queueWait.name);
  if (family?.kind !== 'histogram') return undefined;
  const [series] = family.series.values();
  return series === undefined ? undefined : { buckets: [...series.buckets], count: series.count };
}

/**
 * The `q` quantile in ms of the waits counted between `prev` and `next` (a restarted dispatcher starts from
 * zero: then `next` alone); undefined when no request was dispatched in between.
 */
export function queueWaitQuantileMs(prev: QueueWaitTotals | undefined, next: QueueWaitTotals, q = 0.95): number | undefined {
  const restarted = prev === undefined || next.count < prev.count;
  const at = (t: QueueWaitTotals | undefined, i: number): number => (restarted || t === undefined ? 0 : i < t.buckets.length ? t.buckets[i] ?? 0 : t.count);
  const total = next.count - at(prev, QUEUE_WAIT_BUCKETS.length);
  if (total <= 0) return undefined;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < QUEUE_WAIT_BUCKETS.length; i++) {
    const cumulative = (next.buckets[i] ?? 0) - at(prev, i);
    if (cumulative >= rank) {
      const lower = i === 0 ? 0 : QUEUE_WAIT_BUCKETS[i - 1] ?? 0;
      const upper = QUEUE_WAIT_BUCKETS[i] ?? lower;
      const inBucket = cumulative - below;
      return 1000 * (inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket);
    }
    below = cumulative;
  }
  return 1000 * (QUEUE_WAIT_BUCKETS.at(-1) ?? 0); // in the +Inf bucket: the highest bound, as histogram_quantile says
}
