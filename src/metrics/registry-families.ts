/**
 * Convert a prom-client registry's `getMetricsAsJSON()` output (the supervisor's own metrics and Node's default
 * process metrics) into exposition families, so they are written by the same writer as the merged worker data.
 * @module
 */
import { ALL_METRICS_BY_NAME } from './definitions';
import { formatNumber, type ExpositionFamily, type ExpositionSample, type FamilyType } from './exposition';

const TYPES: ReadonlySet<string> = new Set<FamilyType>(['counter', 'gauge', 'histogram', 'summary']);

/** Labels whose values are numbers that must be written canonically, and go last (Go client order). */
const NUMERIC_LABELS: ReadonlySet<string> = new Set(['le', 'quantile']);

function sampleOf(familyName: string, raw: unknown): ExpositionSample | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const v = raw as { value?: unknown; labels?: unknown; metricName?: unknown };
  if (typeof v.value !== 'number') return undefined;
  const labels: Array<readonly [string, string]> = [];
  const tail: Array<readonly [string, string]> = [];
  if (typeof v.labels === 'object' && v.labels !== null) {
    for (const [k, x] of Object.entries(v.labels)) {
      if (x === undefined) continue;
      const text = typeof x === 'number' ? formatNumber(x, NUMERIC_LABELS.has(k)) : String(x);
      (NUMERIC_LABELS.has(k) ? tail : labels).push([k, text]);
    }
  }
  return { name: typeof v.metricName === 'string' ? v.metricName : familyName, labels: [...labels, ...tail], value: v.value };
}

/**
 * Families from prom-client JSON. Types are read as strings (prom-client's typings declare a numeric enum, but
 * its runtime writes `'counter'`, `'gauge'`, ...); units come from m2pool's definitions when the metric is one.
 */
export function familiesFromRegistryJson(metrics: readonly unknown[]): ExpositionFamily[] {
  const out: ExpositionFamily[] = [];
  for (const m of metrics) {
    if (typeof m !== 'object' || m === null) continue;
    const { name, help, type, values } = m as { name?: unknown; help?: unknown; type?: unknown; values?: unknown };
    if (typeof name !== 'string' || !Array.isArray(values)) continue;
    const samples: ExpositionSample[] = [];
    for (const raw of values) {
      const s = sampleOf(name, raw);
      if (s !== undefined) samples.push(s);
    }
    out.push({
      name,
      help: typeof help === 'string' ? help : '',
      type: typeof type === 'string' && TYPES.has(type) ? (type as FamilyType) : 'untyped',
      unit: ALL_METRICS_BY_NAME.get(name)?.unit,
      samples,
    });
  }
  return out;
}
