/**
 * Metrics the dashboard and the autoscaling manifests already use but the pool does not export yet: they come
 * with the dispatcher (issue 14): a fresh pool exports its families only once a dispatcher pushed. Checks that every metric name used exists accept
 * these while they are missing, and check them like any other once `PoolMetrics` exports them.
 */
import { PoolMetrics } from '../../src/metrics';

/** Planned metric names and where they come from. */
export const PLANNED_METRICS: ReadonlyMap<string, string> = new Map([
  ['m2pool_queue_wait_seconds', 'issue 14: dispatcher queue wait histogram'],
  ['m2pool_queue_wait_seconds_bucket', 'issue 14: dispatcher queue wait histogram'],
  ['m2pool_queue_wait_seconds_sum', 'issue 14: dispatcher queue wait histogram'],
  ['m2pool_queue_wait_seconds_count', 'issue 14: dispatcher queue wait histogram'],
]);

/** The planned metric names `text` uses that are not in `exported`. */
export function plannedOnly(text: string, exported: ReadonlySet<string>): string[] {
  return [...PLANNED_METRICS.keys()].filter((name) => !exported.has(name) && new RegExp(`(?<![\\w:])${name}(?![\\w:])`).test(text));
}

/** Every sample name the pool exports today (histograms with their `_bucket`, `_sum` and `_count`). */
export async function exportedMetricNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const f of await new PoolMetrics().families()) {
    names.add(f.name);
    if (f.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(f.name + s);
  }
  return names;
}
