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
 *   npm run build && node dist/test/bench/autoscale-step.js [--clients 5] [--step 15] [--slow 100] [--min 1] [--max 4] [--max-in-flight 2] [--interval-ms 1000]
 * @module
 */
import { parseArgs } from 'node:util';
import { AUTOSCALE_DEFAULTS } from '../../src/config/autoscale';
import { startLoad, type LoadResult } from '../helpers/load';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { settled, startPool, type TestPool } from '../helpers/pool';

interface StepResult {
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
    pool = await startPool(m2, [...flags, '--request-log-level', 'trace']);
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '5' },
      step: { type: 'string', default: '15' },
      slow: { type: 'string', default: '100' },
      min: { type: 'string', default: '1' },
      max: { type: 'string', default: '4' },
      'max-in-flight': { type: 'string', default: '2' },
      'interval-ms': { type: 'string', default: '1000' },
    },
  });
  const clients = Number(values.clients);
  const stepS = Number(values.step);
  const slowMs = Number(values.slow);
  const min = Number(values.min);
  const max = Number(values.max);
  const cap = Number(values['max-in-flight']);
  const needed = Math.min(max, Math.ceil(clients / (cap * AUTOSCALE_DEFAULTS.targetUtilization)));
  const common = ['--max-workers', String(max), '--max-in-flight', String(cap), '--heartbeat-interval-ms', '200'];
  const base = { clients, stepS, slowMs, needed };
  const rows: StepResult[] = [];
  const variants: Array<[string, string[], number]> = [
    ['autoscale', [...common, '--workers', String(min), '--autoscale-min', String(min), '--autoscale-max', String(max), '--autoscale-interval-ms', String(values['interval-ms'])], min],
    ['fixed-min', [...common, '--workers', String(min)], min],
    ['fixed-max', [...common, '--workers', String(max)], max],
  ];
  for (const [name, flags, initial] of variants) {
    const r = await runVariant(name, flags, { ...base, initial, needed: name === 'fixed-min' ? min : needed });
    rows.push(r);
    process.stdout.write(
      `${name.padEnd(10)} reached ${name === 'fixed-min' ? min : needed} ready: ${r.reachedMs === null ? 'never' : `${(r.reachedMs / 1000).toFixed(2)} s`}; ready at the end ${r.finalReady}; ` +
        `${r.requests} requests, ${r.failed} failed, ${r.rps.toFixed(1)} req/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms\n`,
    );
  }
  const ref = rows.find((r) => r.variant === 'fixed-max');
  if (ref !== undefined) {
    for (const r of rows.filter((x) => x !== ref)) {
      process.stdout.write(`${r.variant} / fixed-max: p99 ${(r.p99Ms / ref.p99Ms).toFixed(2)}, throughput ${(r.rps / ref.rps).toFixed(2)}\n`);
    }
  }
  process.stdout.write(`\n${clients} clients on /slow?ms=${slowMs} for ${stepS} s, max in flight ${cap} per worker, needed ${needed} workers (target utilisation ${AUTOSCALE_DEFAULTS.targetUtilization}); autoscale interval ${String(values['interval-ms'])} ms\n`);
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
