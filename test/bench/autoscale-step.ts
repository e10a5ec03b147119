/**
 * A load step against the autoscaler (issue 9): a real Mongrel2, `m2pool start` (dispatch topology) with the
 * example app, idle, then `clients` keep-alive clients on `/slow?ms=SLOW` for `step` seconds. Three pools, one
 * after the other in one run:
 *   autoscale  — min..max with the autoscaler on (interval `--interval-ms`, the other settings at their defaults)
 *   fixed-min  — `min` workers, no autoscaler
 *   fixed-max  — `max` workers, no autoscaler
 * Reports, for each: the time from the step to `needed` ready workers (needed = ceil(clients / (max in flight ×
 * 0.7)), at most max), the p50/p99 latency and throughput during the step, failed requests; and the ratios of
 * autoscale and fixed-min against fixed-max.
 * Part of `npm run bench` (scenario `autoscale-step`, e.g. `npm run bench -- --only autoscale-step`); alone, with
 * its own knobs:
 *   npm run build && node dist/test/bench/autoscale-step.js [--clients 5] [--step 15] [--slow 100] [--min 1] [--max 4] [--max-in-flight 2] [--interval-ms 1000]
 * @module
 */
import { parseArgs } from 'node:util';
import { AUTOSCALE_DEFAULTS } from '../../src/config/autoscale';
import { startLoad, type LoadResult } from '../helpers/load';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { settled, startCliPool, type TestPool } from '../helpers/pool';

/** One pool's answer to the load step. */
export interface StepResult {
  readonly variant: string;
  /** ms from the step until `needed` workers were ready; null if never within the step. */
  readonly reachedMs: number | null;
  readonly finalReady: number;
  readonly requests: number;
  readonly failed: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Poll `/pool` every 50 ms (a measurement's resolution, not a synchronisation) until `needed` are ready. */
async function timeToReady(pool: TestPool, needed: number, t0: number, untilMs: number): Promise<number | null> {
  while (performance.now() - t0 < untilMs) {
    const p = await pool.pool();
    if (p.ready >= needed && p.booting === 0) return performance.now() - t0;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return null;
}

async function runVariant(variant: string, flags: readonly string[], o: { clients: number; stepS: number; slowMs: number; needed: number; initial: number }): Promise<StepResult> {
  const m2 = await startTestMongrel2();
  let pool: TestPool | undefined;
  try {
    pool = await startCliPool(m2, [...flags, '--request-log-level', 'trace']);
    await pool.waitPool(settled(o.initial), `${o.initial} ready workers`, 30_000);
    const body = `slept ${o.slowMs} ms\n`;
    const load = startLoad({ port: m2.port, clients: o.clients, request: () => ({ path: `/slow?ms=${o.slowMs}` }), expectedBody: () => body });
    const t0 = performance.now();
    const reachedMs = await timeToReady(pool, o.needed, t0, o.stepS * 1000);
    const left = o.stepS * 1000 - (performance.now() - t0);
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
    const results: LoadResult[] = await load.stop();
    const elapsedS = (performance.now() - t0) / 1000;
    const finalReady = (await pool.pool()).ready;
    const ok = results.filter((r) => r.problem === undefined && r.status === 200);
    const latencies = ok.map((r) => r.endedAt - r.sentAt).sort((a, b) => a - b);
    return { variant, reachedMs, finalReady, requests: results.length, failed: results.length - ok.length, rps: ok.length / elapsedS, p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99) };
  } finally {
    await pool?.stop();
    await m2.stop();
  }
}

/** The load step's knobs. */
export interface AutoscaleStepOptions {
  readonly clients: number;
  readonly stepS: number;
  readonly slowMs: number;
  readonly min: number;
  readonly max: number;
  /** Max in flight per worker: small, so a handful of clients needs several workers. */
  readonly maxInFlight: number;
  readonly intervalMs: number;
}

export const AUTOSCALE_STEP_DEFAULTS: AutoscaleStepOptions = { clients: 5, stepS: 15, slowMs: 100, min: 1, max: 4, maxInFlight: 2, intervalMs: 1000 };

/** What `npm run bench` records of the scenario. */
export interface AutoscaleStepReport {
  readonly options: AutoscaleStepOptions;
  /** Workers the step needs at the target utilisation (at most max). */
  readonly needed: number;
  readonly rows: readonly StepResult[];
  /** p99 and throughput of autoscale and fixed-min against fixed-max. */
  readonly ratios: ReadonlyArray<{ readonly variant: string; readonly p99: number; readonly throughput: number }>;
}

/** Run the three pools one after the other; `progress` hears a line per pool. */
export async function runAutoscaleStep(o: AutoscaleStepOptions, progress: (line: string) => void): Promise<AutoscaleStepReport> {
  const needed = Math.min(o.max, Math.ceil(o.clients / (o.maxInFlight * AUTOSCALE_DEFAULTS.targetUtilization)));
  const common = ['--max-workers', String(o.max), '--max-in-flight', String(o.maxInFlight), '--heartbeat-interval-ms', '200'];
  const base = { clients: o.clients, stepS: o.stepS, slowMs: o.slowMs };
  const variants: Array<[string, string[], number]> = [
    ['autoscale', [...common, '--workers', String(o.min), '--autoscale-min', String(o.min), '--autoscale-max', String(o.max), '--autoscale-interval-ms', String(o.intervalMs)], o.min],
    ['fixed-min', [...common, '--workers', String(o.min)], o.min],
    ['fixed-max', [...common, '--workers', String(o.max)], o.max],
  ];
  const rows: StepResult[] = [];
  for (const [name, flags, initial] of variants) {
    const target = name === 'fixed-min' ? o.min : needed;
    const r = await runVariant(name, flags, { ...base, initial, needed: target });
    rows.push(r);
    progress(
      `${name.padEnd(10)} reached ${target} ready: ${r.reachedMs === null ? 'never' : `${(r.reachedMs / 1000).toFixed(2)} s`}; ready at the end ${r.finalReady}; ` +
        `${r.requests} requests, ${r.failed} failed, ${r.rps.toFixed(1)} req/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms`,
    );
  }
  const ref = rows.find((r) => r.variant === 'fixed-max');
  const ratios = ref === undefined ? [] : rows.filter((x) => x !== ref).map((r) => ({ variant: r.variant, p99: r.p99Ms / ref.p99Ms, throughput: r.rps / ref.rps }));
  return { options: o, needed, rows, ratios };
}

/** The scenario's section of the bench's markdown report. */
export function autoscaleStepMarkdown(r: AutoscaleStepReport): string[] {
  const o = r.options;
  const lines = [
    '## Autoscaling: a load step (autoscale-step)',
    '',
    `${o.clients} keep-alive clients on \`/slow?ms=${o.slowMs}\` for ${o.stepS} s after an idle pool; max in flight ${o.maxInFlight} per worker, so the step needs ${r.needed} workers at the target utilisation ${AUTOSCALE_DEFAULTS.targetUtilization}; autoscale ${o.min}..${o.max}, interval ${o.intervalMs} ms; dispatch topology.`,
    '',
    '| pool | time to the needed size | ready at the end | requests | failed | req/s | p50 ms | p99 ms | p99 / fixed-max | throughput / fixed-max |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const row of r.rows) {
    const ratio = r.ratios.find((x) => x.variant === row.variant);
    const reached = row.variant === 'fixed-max' || row.variant === 'fixed-min' ? '–' : row.reachedMs === null ? 'never' : `${(row.reachedMs / 1000).toFixed(2)} s`;
    lines.push(`| ${row.variant} | ${reached} | ${row.finalReady} | ${row.requests} | ${row.failed} | ${row.rps.toFixed(1)} | ${row.p50Ms.toFixed(1)} | ${row.p99Ms.toFixed(1)} | ${ratio === undefined ? '1' : ratio.p99.toFixed(2)} | ${ratio === undefined ? '1' : ratio.throughput.toFixed(2)} |`);
  }
  lines.push('');
  return lines;
}

async function main(): Promise<void> {
  const d = AUTOSCALE_STEP_DEFAULTS;
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: String(d.clients) },
      step: { type: 'string', default: String(d.stepS) },
      slow: { type: 'string', default: String(d.slowMs) },
      min: { type: 'string', default: String(d.min) },
      max: { type: 'string', default: String(d.max) },
      'max-in-flight': { type: 'string', default: String(d.maxInFlight) },
      'interval-ms': { type: 'string', default: String(d.intervalMs) },
    },
  });
  const o: AutoscaleStepOptions = {
    clients: Number(values.clients),
    stepS: Number(values.step),
    slowMs: Number(values.slow),
    min: Number(values.min),
    max: Number(values.max),
    maxInFlight: Number(values['max-in-flight']),
    intervalMs: Number(values['interval-ms']),
  };
  const r = await runAutoscaleStep(o, (line) => process.stdout.write(`${line}\n`));
  for (const x of r.ratios) process.stdout.write(`${x.variant} / fixed-max: p99 ${x.p99.toFixed(2)}, throughput ${x.throughput.toFixed(2)}\n`);
  process.stdout.write(`\n${o.clients} clients on /slow?ms=${o.slowMs} for ${o.stepS} s, max in flight ${o.maxInFlight} per worker, needed ${r.needed} workers (target utilisation ${AUTOSCALE_DEFAULTS.targetUtilization}); autoscale interval ${o.intervalMs} ms\n`);
}

if (require.main === module) {
  void main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
