/**
 * Render the worker-side metrics of the whole pool as exposition families: counters and histograms pool-wide
 * (no slot label: the ledger's totals), gauges per slot (label `slot`) over live processes only.
 * @module
 */
import { SLOT_LABEL, WORKER_METRICS, type WorkerMetricSpec } from './definitions';
import { formatNumber, type ExpositionFamily, type ExpositionSample } from './exposition';
import type { Snapshot } from './snapshot';

/** The latest snapshot of one live process and its slot. */
export interface LiveSnapshot {
  readonly slot: number;
  readonly snapshot: Snapshot;
}

type Labels = Array<readonly [string, string]>;

function zipLabels(names: readonly string[], values: readonly string[]): Labels {
  return names.map((n, i) => [n, values[i] ?? ''] as const);
}

function sortedEntries<T>(m: Map<string, T>): Array<[string, T]> {
  return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Counter and histogram samples of `spec` from pool totals (no slot label). */
export function pooledSamples(spec: WorkerMetricSpec, totals: Snapshot): ExpositionSample[] {
  const fam = totals.get(spec.name);
  const samples: ExpositionSample[] = [];
  if (fam?.kind === 'histogram') {
    const bounds = spec.buckets ?? [];
    for (const [, s] of sortedEntries(fam.series)) {
      const labels = zipLabels(spec.labelNames, s.labels);
      bounds.forEach((b, i) => {
        samples.push({ name: `${spec.name}_bucket`, labels: [...labels, ['le', formatNumber(b, true)]], value: s.buckets[i] ?? 0 });
      });
      samples.push({ name: `${spec.name}_bucket`, labels: [...labels, ['le', '+Inf']], value: s.count });
      samples.push({ name: `${spec.name}_sum`, labels, value: s.sum });
      samples.push({ name: `${spec.name}_count`, labels, value: s.count });
    }
  } else if (fam?.kind === 'counter') {
    for (const [, s] of sortedEntries(fam.series)) samples.push({ name: spec.name, labels: zipLabels(spec.labelNames, s.labels), value: s.value });
  }
  // An unlabelled counter exists from the start (0), so rate() and alerts work before the first event.
  if (samples.length === 0 && spec.kind === 'counter' && spec.labelNames.length === 0) samples.push({ name: spec.name, labels: [], value: 0 });
  return samples;
}

/** Gauge samples of `spec` from one process's snapshot, without a slot label. */
export function gaugeSamples(spec: WorkerMetricSpec, snapshot: Snapshot): ExpositionSample[] {
  const fam = snapshot.get(spec.name);
  if (fam === undefined || fam.kind === 'histogram') return [];
  return sortedEntries(fam.series).map(([, s]) => ({ name: spec.name, labels: zipLabels(spec.labelNames, s.labels), value: s.value }));
}

function perSlotSamples(spec: WorkerMetricSpec, live: Iterable<LiveSnapshot>): ExpositionSample[] {
  const merged = new Map<string, { slot: number; labels: readonly string[]; value: number }>();
  for (const { slot, snapshot } of live) {
    const fam = snapshot.get(spec.name);
    if (fam === undefined || fam.kind === 'histogram') continue;
    for (const [key, s] of fam.series) {
      const k = `${slot}\u0000${key}`;
      const cur = merged.get(k);
      if (cur === undefined) merged.set(k, { slot, labels: s.labels, value: s.value });
      else cur.value = spec.merge === 'slot-max' ? Math.max(cur.value, s.value) : cur.value + s.value;
    }
  }
  return [...merged.values()]
    .sort((a, b) => a.slot - b.slot || (a.labels.join('\u0000') < b.labels.join('\u0000') ? -1 : 1))
    .map((m) => ({ name: spec.name, labels: [[SLOT_LABEL, String(m.slot)] as const, ...zipLabels(spec.labelNames, m.labels)], value: m.value }));
}

/** Every worker-side family, in {@link WORKER_METRICS} order. */
export function workerFamilies(totals: Snapshot, live: readonly LiveSnapshot[]): ExpositionFamily[] {
  return Object.values(WORKER_METRICS).map((spec: WorkerMetricSpec) => ({
    name: spec.name,
    help: spec.help,
    type: spec.kind,
    unit: spec.unit,
    samples: spec.merge === 'sum' ? pooledSamples(spec, totals) : perSlotSamples(spec, live),
  }));
}
