/**
 * Worker metric snapshots: the validated in-memory form, and the parser that turns an untrusted
 * `m2pool:metrics` payload (prom-client `getMetricsAsJSON()` output, after an IPC round trip) into it.
 * Anything that does not match the worker metric specs exactly is rejected with a reason — a broken or
 * hostile worker can make its own snapshot count as rejected, never crash the supervisor or add foreign series.
 * @module
 */
import { MAX_LABEL_VALUE_LENGTH, type MetricSpec, type RejectReason } from './definitions';

/** A counter or gauge series: label values in the spec's `labelNames` order. */
export interface ScalarSeries {
  readonly labels: readonly string[];
  value: number;
}

/** A histogram series: cumulative bucket counts, one per finite upper bound of the spec (+Inf is `count`). */
export interface HistogramSeries {
  readonly labels: readonly string[];
  readonly buckets: number[];
  count: number;
  sum: number;
}

/** All series of one family, keyed by {@link seriesKey}. */
export type FamilyData =
  | { readonly kind: 'counter' | 'gauge'; readonly series: Map<string, ScalarSeries> }
  | { readonly kind: 'histogram'; readonly series: Map<string, HistogramSeries> };

/** One process's metric state: family name → series. */
export type Snapshot = Map<string, FamilyData>;

/** Caps applied while parsing. */
export interface ParseLimits {
  /** Most `values` entries (samples) in one snapshot, all families together. */
  readonly maxSamples: number;
  /** Longest label value accepted. */
  readonly maxLabelValueLength: number;
}

/** Defaults for {@link ParseLimits}: far above any real app, low enough to bound supervisor memory. */
export const DEFAULT_PARSE_LIMITS: ParseLimits = Object.freeze({
  maxSamples: 50_000,
  maxLabelValueLength: MAX_LABEL_VALUE_LENGTH,
});

/** Outcome of {@link parseSnapshot}. */
export type ParseResult =
  | { readonly ok: true; readonly snapshot: Snapshot; readonly unknownFamilies: readonly string[] }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

/** Stable key of a label-value list. */
export function seriesKey(labels: readonly string[]): string {
  return JSON.stringify(labels);
}

class Rejection extends Error {
  readonly reason: RejectReason;
  constructor(reason: RejectReason, detail: string) {
    super(detail);
    this.reason = reason;
  }
}

function fail(reason: RejectReason, detail: string): never {
  throw new Rejection(reason, detail);
}

function asRecord(x: unknown): Record<string, unknown> | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}

function finiteNumber(x: unknown, where: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) fail('malformed', `${where}: value is not a finite number`);
  return x;
}

/** Label values in `names` order; the label object must have exactly `names` (plus `extra`, returned apart). */
function labelValues(
  raw: unknown,
  names: readonly string[],
  extra: string | undefined,
  limits: ParseLimits,
  where: string,
): { values: string[]; extra: unknown } {
  const rec = raw === undefined ? {} : asRecord(raw);
  if (rec === undefined) fail('malformed', `${where}: labels is not an object`);
  const keys = Object.keys(rec);
  const expected = names.length + (extra === undefined ? 0 : 1);
  if (keys.length !== expected) fail('schema', `${where}: labels {${keys.join(',')}} instead of {${names.join(',')}}`);
  const values: string[] = [];
  for (const name of names) {
    const v = rec[name];
    const s = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
    if (s === undefined) fail('schema', `${where}: label ${name} missing or not a string`);
    if (s.length > limits.maxLabelValueLength) fail('schema', `${where}: label ${name} too long`);
    values.push(s);
  }
  if (extra !== undefined && !(extra in rec)) fail('schema', `${where}: label ${extra} missing`);
  return { values, extra: extra === undefined ? undefined : rec[extra] };
}

function parseScalarFamily(spec: MetricSpec, values: unknown[], limits: ParseLimits): FamilyData {
  const kind = spec.kind;
  if (kind === 'histogram') fail('schema', `${spec.name}: not a scalar family`);
  const series = new Map<string, ScalarSeries>();
  for (const entry of values) {
    const v = asRecord(entry);
    if (v === undefined) fail('malformed', `${spec.name}: sample is not an object`);
    if (v['metricName'] !== undefined && v['metricName'] !== spec.name) fail('schema', `${spec.name}: unexpected sample name`);
    const value = finiteNumber(v['value'], spec.name);
    if (kind === 'counter' && value < 0) fail('schema', `${spec.name}: negative counter`);
    const { values: labels } = labelValues(v['labels'], spec.labelNames, undefined, limits, spec.name);
    const key = seriesKey(labels);
    if (series.has(key)) fail('malformed', `${spec.name}: duplicate series ${key}`);
    series.set(key, { labels, value });
  }
  return { kind, series };
}

interface PartialHistogram {
  readonly labels: readonly string[];
  readonly buckets: (number | undefined)[];
  inf: number | undefined;
  sum: number | undefined;
  count: number | undefined;
}

function leValue(x: unknown): number {
  if (typeof x === 'number') return x;
  if (x === '+Inf') return Infinity;
  if (typeof x === 'string' && x.trim() !== '') return Number(x);
  return NaN;
}

function parseHistogramFamily(spec: MetricSpec, values: unknown[], limits: ParseLimits): FamilyData {
  const bounds = spec.buckets ?? [];
  const boundIndex = new Map(bounds.map((b, i) => [b, i]));
  const partial = new Map<string, PartialHistogram>();
  const get = (labels: string[]): PartialHistogram => {
    const key = seriesKey(labels);
    let p = partial.get(key);
    if (p === undefined) {
      p = { labels, buckets: bounds.map(() => undefined), inf: undefined, sum: undefined, count: undefined };
      partial.set(key, p);
    }
    return p;
  };
  const dup = (): never => fail('malformed', `${spec.name}: duplicate sample`);
  for (const entry of values) {
    const v = asRecord(entry);
    if (v === undefined) fail('malformed', `${spec.name}: sample is not an object`);
    const value = finiteNumber(v['value'], spec.name);
    if (value < 0) fail('schema', `${spec.name}: negative histogram value`);
    const metricName = v['metricName'];
    if (metricName === `${spec.name}_bucket`) {
      const { values: labels, extra } = labelValues(v['labels'], spec.labelNames, 'le', limits, spec.name);
      const p = get(labels);
      const le = leValue(extra);
      if (le === Infinity) {
        if (p.inf !== undefined) dup();
        p.inf = value;
        continue;
      }
      const i = boundIndex.get(le);
      if (i === undefined) fail('schema', `${spec.name}: unknown bucket le=${String(extra)}`);
      if (p.buckets[i] !== undefined) dup();
      p.buckets[i] = value;
    } else if (metricName === `${spec.name}_sum` || metricName === `${spec.name}_count`) {
      const p = get(labelValues(v['labels'], spec.labelNames, undefined, limits, spec.name).values);
      if (metricName === `${spec.name}_sum`) {
        if (p.sum !== undefined) dup();
        p.sum = value;
      } else {
        if (p.count !== undefined) dup();
        p.count = value;
      }
    } else {
      fail('schema', `${spec.name}: unexpected sample name`);
    }
  }
  const series = new Map<string, HistogramSeries>();
  for (const [key, p] of partial) {
    const { inf, sum, count } = p;
    if (inf === undefined || sum === undefined || count === undefined || p.buckets.some((b) => b === undefined)) {
      fail('schema', `${spec.name}: incomplete histogram ${key}`);
    }
    const buckets = p.buckets as number[];
    if (inf !== count) fail('schema', `${spec.name}: +Inf bucket differs from count ${key}`);
    for (let i = 0; i < buckets.length; i++) {
      if ((buckets[i] ?? 0) > (buckets[i + 1] ?? count)) fail('schema', `${spec.name}: buckets not cumulative ${key}`);
    }
    series.set(key, { labels: p.labels, buckets, count, sum });
  }
  return { kind: 'histogram', series };
}

/**
 * Validate an untrusted snapshot against `specs` (by metric name). Families not in `specs` are skipped and
 * listed (a newer worker during a rolling reload may know more metrics); everything else must match exactly.
 */
export function parseSnapshot(input: unknown, specs: ReadonlyMap<string, MetricSpec>, limits: ParseLimits = DEFAULT_PARSE_LIMITS): ParseResult {
  try {
    if (!Array.isArray(input)) fail('malformed', 'snapshot is not an array');
    let samples = 0;
    const snapshot: Snapshot = new Map();
    const unknownFamilies: string[] = [];
    for (const entry of input) {
      const fam = asRecord(entry);
      const name = fam?.['name'];
      const type = fam?.['type'];
      const values = fam?.['values'];
      if (typeof name !== 'string' || typeof type !== 'string' || !Array.isArray(values)) {
        fail('malformed', 'family without name, type or values');
      }
      samples += values.length;
      if (samples > limits.maxSamples) fail('too-large', `more than ${limits.maxSamples} samples`);
      const spec = specs.get(name);
      if (spec === undefined) {
        unknownFamilies.push(name.slice(0, limits.maxLabelValueLength));
        continue;
      }
      if (type !== spec.kind) fail('schema', `${name}: type ${type.slice(0, 20)} instead of ${spec.kind}`);
      if (snapshot.has(name)) fail('malformed', `${name}: family twice`);
      snapshot.set(name, spec.kind === 'histogram' ? parseHistogramFamily(spec, values, limits) : parseScalarFamily(spec, values, limits));
    }
    return { ok: true, snapshot, unknownFamilies };
  } catch (err) {
    if (err instanceof Rejection) return { ok: false, reason: err.reason, detail: err.message };
    // NOTE: anything else is a bug in this parser; report it as malformed input rather than crash the supervisor.
    return { ok: false, reason: 'malformed', detail: `parser error: ${String(err)}` };
  }
}
