/**
 * Text exposition: the Prometheus text format 0.0.4 and OpenMetrics 1.0.0, written from one neutral model, and
 * the `Accept` negotiation between them. Written here rather than through prom-client's `Registry.metrics()`
 * because the output mixes merged worker data with the supervisor's registry, and because prom-client's
 * OpenMetrics writer renames registered counters in place and prints `le="1"` where OpenMetrics asks for the
 * canonical `le="1.0"`.
 * Formats: https://prometheus.io/docs/instrumenting/exposition_formats/ and
 * https://prometheus.io/docs/specs/om/open_metrics_spec/
 * @module
 */

/** Family types as written in `# TYPE`. */
export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** One sample line: full sample name (Prometheus text spelling), labels in order, value. */
export interface ExpositionSample {
  readonly name: string;
  readonly labels: ReadonlyArray<readonly [string, string]>;
  readonly value: number;
}

/** One metric family. `name` is the Prometheus text name (a counter keeps its `_total`). */
export interface ExpositionFamily {
  readonly name: string;
  readonly help: string;
  readonly type: FamilyType;
  /** Base unit for OpenMetrics `# UNIT`; written only when the family name ends with `_<unit>`. */
  readonly unit?: string | undefined;
  readonly samples: readonly ExpositionSample[];
}

/** The two formats `/metrics` speaks. */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/** `Content-Type` of each format. */
export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = Object.freeze({
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
});

/**
 * A number as text: `+Inf`, `-Inf`, `NaN`, else the shortest round-trip decimal. With `canonical`, integers get a
 * `.0` (OpenMetrics "Canonical Numbers", required for `le` and `quantile`). m2pool writes `le` canonically in both
 * formats, so a scraper switching format never splits a bucket series in two (`le="1"` vs `le="1.0"`).
 */
export function formatNumber(v: number, canonical = false): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  return canonical && Number.isInteger(v) && !s.includes('e') ? `${s}.0` : s;
}

function escapeLabelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: ExpositionSample['labels']): string {
  if (labels.length === 0) return '';
  return `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** Prometheus text format 0.0.4. HELP escapes only `\` and newline there. */
export function writePrometheusText(families: Iterable<ExpositionFamily>): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(`${s.name}${labelText(s.labels)} ${formatNumber(s.value)}`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/**
 * OpenMetrics 1.0.0: counter families are named without `_total` and their samples with it; `untyped` is
 * `unknown`; HELP escapes `"` too; the exposition ends with `# EOF`.
 */
export function writeOpenMetrics(families: Iterable<ExpositionFamily>): string {
  const out: string[] = [];
  for (const f of families) {
    const isCounter = f.type === 'counter';
    const name = isCounter ? f.name.replace(/_total$/, '') : f.name;
    out.push(`# HELP ${name} ${escapeLabelValue(f.help)}`);
    out.push(`# TYPE ${name} ${f.type === 'untyped' ? 'unknown' : f.type}`);
    if (f.unit !== undefined && f.unit !== '' && name.endsWith(`_${f.unit}`)) out.push(`# UNIT ${name} ${f.unit}`);
    for (const s of f.samples) {
      const sampleName = isCounter ? `${name}_total` : s.name;
      out.push(`${sampleName}${labelText(s.labels)} ${formatNumber(s.value)}`);
    }
  }
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}

/** Write `families` in `format`. */
export function writeExposition(families: Iterable<ExpositionFamily>, format: ExpositionFormat): string {
  return format === 'openmetrics' ? writeOpenMetrics(families) : writePrometheusText(families);
}

/** Quality of one `Accept` entry (`q` parameter, default 1), or 0 when unparsable. */
function quality(params: string[]): number {
  for (const p of params) {
    const [k, v] = p.split('=').map((x) => x.trim());
    if (k?.toLowerCase() === 'q') {
      const q = Number(v);
      return Number.isFinite(q) ? Math.min(Math.max(q, 0), 1) : 0;
    }
  }
  return 1;
}

/** The `version` parameter of an `Accept` entry, if any. */
function version(params: string[]): string | undefined {
  for (const p of params) {
    const [k, v] = p.split('=').map((x) => x.trim());
    if (k?.toLowerCase() === 'version') return v?.replace(/^"|"$/g, '');
  }
  return undefined;
}

/**
 * Pick the format from an HTTP `Accept` header: OpenMetrics when the client names
 * `application/openmetrics-text` (version 1.0.0 or unversioned) with a quality at least that of the text
 * format, else the Prometheus text format (also for a missing header, `*\/*`, or OpenMetrics 0.0.1 only).
 * Prometheus 2.x scrapes with `application/openmetrics-text;version=1.0.0,...;q=0.75,text/plain;version=0.0.4;q=0.5`.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (accept === undefined || accept === '') return 'prometheus';
  let om = 0;
  let text = 0;
  for (const entry of accept.split(',')) {
    const [type = '', ...params] = entry.split(';').map((x) => x.trim());
    const media = type.toLowerCase();
    const q = quality(params);
    const v = version(params);
    if (media === 'application/openmetrics-text' && (v === undefined || v === '1.0.0')) om = Math.max(om, q);
    else if ((media === 'text/plain' && (v === undefined || v === '0.0.4')) || media === 'text/*' || media === '*/*') text = Math.max(text, q);
  }
  return om > 0 && om >= text ? 'openmetrics' : 'prometheus';
}
