/**
 * Arithmetic over the cumulative part of snapshots (counters and histograms; gauges are never accumulated):
 * exact bucket-by-bucket sums, deltas, and the comparisons that keep pool totals monotonic.
 * @module
 */
import type { FamilyData, HistogramSeries, ScalarSeries, Snapshot } from './snapshot';

type CumulativeFamily = Exclude<FamilyData, { kind: 'gauge' }>;

function isCumulative(f: FamilyData): f is CumulativeFamily {
  return f.kind !== 'gauge';
}

function familyIn(target: Snapshot, name: string, like: CumulativeFamily): CumulativeFamily | undefined {
  let t = target.get(name);
  if (t === undefined) {
    t = like.kind === 'histogram' ? { kind: 'histogram', series: new Map() } : { kind: like.kind, series: new Map() };
    target.set(name, t);
  }
  return t.kind === like.kind && isCumulative(t) ? t : undefined;
}

/**
 * `target += max(0, source - baseline)` per value (a missing baseline counts as zero); series missing from
 * `target` are created. Adding only non-negative amounts is what keeps every total monotonic.
 */
function accumulate(target: Snapshot, source: Snapshot, baseline: Snapshot | undefined): void {
  const d = (next: number, prev: number | undefined): number => Math.max(0, next - (prev ?? 0));
  for (const [name, fam] of source) {
    if (!isCumulative(fam)) continue;
    const t = familyIn(target, name, fam);
    if (t === undefined) continue;
    const base = baseline?.get(name);
    if (fam.kind === 'histogram' && t.kind === 'histogram') {
      const baseSeries = base?.kind === 'histogram' ? base.series : undefined;
      for (const [key, s] of fam.series) {
        const p = baseSeries?.get(key);
        const cur = t.series.get(key);
        if (cur === undefined) {
          t.series.set(key, { labels: s.labels, buckets: s.buckets.map((b, i) => d(b, p?.buckets[i])), count: d(s.count, p?.count), sum: d(s.sum, p?.sum) });
        } else if (cur.buckets.length === s.buckets.length) {
          for (let i = 0; i < s.buckets.length; i++) cur.buckets[i] = (cur.buckets[i] ?? 0) + d(s.buckets[i] ?? 0, p?.buckets[i]);
          cur.count += d(s.count, p?.count);
          cur.sum += d(s.sum, p?.sum);
        }
      }
    } else if (fam.kind === 'counter' && t.kind === 'counter') {
      const baseSeries = base?.kind === 'counter' ? base.series : undefined;
      for (const [key, s] of fam.series) {
        const add = d(s.value, baseSeries?.get(key)?.value);
        const cur = t.series.get(key);
        if (cur === undefined) t.series.set(key, { labels: s.labels, value: add });
        else cur.value += add;
      }
    }
  }
}

/** `target += source` for counters and histograms (bucket by bucket, plus sum and count). */
export function addInto(target: Snapshot, source: Snapshot): void {
  accumulate(target, source, undefined);
}

/** `target += (next - prev)` per value: what one process added between two of its snapshots. */
export function addDeltaInto(target: Snapshot, next: Snapshot, prev: Snapshot): void {
  accumulate(target, next, prev);
}

/** A deep copy of the counters and histograms of `s` (gauges left out). */
export function cloneCumulative(s: Snapshot): Snapshot {
  const out: Snapshot = new Map();
  addInto(out, s);
  return out;
}

function scalarDominates(next: Map<string, ScalarSeries> | undefined, prev: Map<string, ScalarSeries>): boolean {
  for (const [key, p] of prev) {
    const n = next?.get(key);
    if (n === undefined || n.value < p.value) return false;
  }
  return true;
}

function histogramDominates(next: Map<string, HistogramSeries> | undefined, prev: Map<string, HistogramSeries>): boolean {
  for (const [key, p] of prev) {
    const n = next?.get(key);
    if (n === undefined || n.count < p.count || n.sum < p.sum || n.buckets.length !== p.buckets.length) return false;
    for (let i = 0; i < p.buckets.length; i++) if ((n.buckets[i] ?? 0) < (p.buckets[i] ?? 0)) return false;
  }
  return true;
}

/** True when `next` has every counter/histogram series of `prev`, none of them smaller: no reset in between. */
export function dominates(next: Snapshot, prev: Snapshot): boolean {
  for (const [name, p] of prev) {
    const n = next.get(name);
    if (p.kind === 'counter') {
      if (!scalarDominates(n?.kind === 'counter' ? n.series : undefined, p.series)) return false;
    } else if (p.kind === 'histogram') {
      if (!histogramDominates(n?.kind === 'histogram' ? n.series : undefined, p.series)) return false;
    }
  }
  return true;
}

/**
 * Raise every value in `target` to at least the matching value in `floor`, and copy series only `floor` has.
 * NOTE: integer counts are exact, but float sums (histogram `_sum`) can differ by an ulp when the same addends are
 * summed in another order (a process moving from the live set to the retired total); a counter that dips by
 * one ulp is a "reset" to Prometheus and a rate spike. Clamping to the last output keeps the invariant exact.
 */
export function raiseTo(target: Snapshot, floor: Snapshot): void {
  for (const [name, f] of floor) {
    if (!isCumulative(f)) continue;
    const t = familyIn(target, name, f);
    if (t === undefined) continue;
    if (f.kind === 'histogram' && t.kind === 'histogram') {
      for (const [key, s] of f.series) {
        const cur = t.series.get(key);
        if (cur === undefined) {
          t.series.set(key, { labels: s.labels, buckets: [...s.buckets], count: s.count, sum: s.sum });
        } else if (cur.buckets.length === s.buckets.length) {
          for (let i = 0; i < s.buckets.length; i++) cur.buckets[i] = Math.max(cur.buckets[i] ?? 0, s.buckets[i] ?? 0);
          cur.count = Math.max(cur.count, s.count);
          cur.sum = Math.max(cur.sum, s.sum);
        }
      }
    } else if (f.kind === 'counter' && t.kind === 'counter') {
      for (const [key, s] of f.series) {
        const cur = t.series.get(key);
        if (cur === undefined) t.series.set(key, { labels: s.labels, value: s.value });
        else cur.value = Math.max(cur.value, s.value);
      }
    }
  }
}
