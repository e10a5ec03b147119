/**
 * Results of a benchmark run: the raw records, medians per variant, ratios, targets, and the markdown report.
 */
import { autoscaleStepMarkdown, type AutoscaleStepReport } from './autoscale-step';
import { fanoutMarkdown, type FanoutReport } from './fanout';
import type { CodecResult } from './codec';
import type { IdleRssResult } from './idle-rss';
import type { PipelineResult } from './pipeline';
import type { ProfileSummary } from './profile';
import type { VariantKind, VariantSpec } from './variants';
import type { Load, WrkResult } from './wrk';

/** The machine the numbers come from. */
export interface MachineInfo {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memTotalMiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly mongrel2: string;
  readonly zeromq: string;
  readonly wrk: string;
  readonly ulimitN: string;
}

/** One measured wrk run of one variant. */
export interface RunRecord {
  readonly variant: string;
  readonly round: number;
  readonly wrk: WrkResult;
  /** CPU seconds used during the measured window, by role, and in total. */
  readonly cpuS: Readonly<Record<string, number>> & { readonly total: number };
  /** Total CPU milliseconds (all processes of the variant) per 1000 requests. */
  readonly cpuMsPer1k: number;
  /** VmRSS after the run, bytes, by role (workers: one entry each). */
  readonly rss: { readonly worker: readonly number[]; readonly supervisor?: number; readonly primary?: number; readonly mongrel2?: number };
  /** Machine-wide softirq CPU seconds in the window (loopback networking, charged to no process). */
  readonly softirqS: number;
  /** Machine-wide busy CPU seconds in the window that were neither the variant, wrk, the bench itself nor softirq. */
  readonly otherCpuS: number;
}

/** A scenario's variants and runs. */
export interface ScenarioResult {
  readonly name: string;
  readonly title: string;
  readonly connections: number;
  readonly load: Load;
  readonly staticLoad?: Load | undefined;
  readonly app: string;
  readonly variants: readonly VariantSpec[];
  /** Worker VmRSS right after start, before any load (bytes), per variant. */
  readonly idleRss: Readonly<Record<string, readonly number[]>>;
  /** The same workers' RssAnon (private memory: the node binary's pages, shared by all workers, excluded). */
  readonly idleRssAnon: Readonly<Record<string, readonly number[]>>;
  readonly runs: readonly RunRecord[];
  readonly profiles?: Readonly<Record<string, ProfileSummary>> | undefined;
  /** Variants that could not run on this machine, with the reason (e.g. no C compiler for hop-c). */
  readonly skipped?: readonly string[] | undefined;
}

/** Medians over the rounds of one variant. */
export interface VariantSummary {
  readonly variant: string;
  readonly kind: VariantKind;
  readonly workers: number;
  readonly rounds: number;
  readonly rps: number;
  /** (max − min) / median of the rounds' req/s. */
  readonly rpsSpread: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** Sum over all rounds (should be 0). */
  readonly errors: number;
  readonly timeouts: number;
  readonly cpuMsPer1k: number;
  /** (max − min) / median of the rounds' total CPU per request. */
  readonly cpuSpread: number;
  /** The Mongrel2 part of `cpuMsPer1k` (0 for node-http). */
  readonly mongrel2CpuMsPer1k: number;
  /** CPU µs per request by role (worker = all handler processes together, supervisor/primary, mongrel2); medians. */
  readonly cpuUsPerRequest: Readonly<Record<string, number>>;
  readonly workerRssMiB: number | undefined;
  readonly idleWorkerRssMiB: number | undefined;
  readonly idleWorkerRssAnonMiB: number | undefined;
  readonly supervisorRssMiB: number | undefined;
  readonly mongrel2RssMiB: number | undefined;
  readonly otherCpuS: number;
}

/** A ratio between two variants of one scenario. */
export interface Ratio {
  readonly scenario: string;
  readonly pair: string;
  readonly throughput: number;
  readonly p99: number;
  readonly cpuPer1k: number;
  /** Worker CPU µs per request of the first over the second (handler processes only: Mongrel2 and wrk excluded). */
  readonly workerCpu: number;
}

/** A target of issue #5 (reported, not asserted). */
export interface Target {
  readonly name: string;
  readonly goal: string;
  readonly value: string;
  readonly met: boolean | undefined;
}

/** Everything written to the JSON file. */
export interface BenchReport {
  readonly meta: {
    readonly date: string;
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly totalS: number;
    readonly command: string;
    readonly machine: MachineInfo;
    readonly options: Readonly<Record<string, unknown>>;
    readonly notes: readonly string[];
  };
  readonly codec: readonly CodecResult[];
  readonly pipeline: readonly PipelineResult[];
  /** The autoscale-step scenario; null when not run. */
  readonly autoscale: AutoscaleStepReport | null;
  /** The fanout scenario (issue #20); null when not run. */
  readonly fanout?: FanoutReport | null;
  /** The idle-RSS comparison (issue 23 target 4); null when not run. */
  readonly idleRss?: IdleRssResult | null;
  readonly scenarios: ReadonlyArray<ScenarioResult & { readonly summary: readonly VariantSummary[]; readonly ratios: readonly Ratio[] }>;
  readonly targets: readonly Target[];
}

const MiB = 1024 * 1024;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function medianOrUndefined(xs: ReadonlyArray<number | undefined>): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined && x > 0);
  return v.length === 0 ? undefined : median(v);
}

/**
 * CPU microseconds per request of each role in one run (utime + stime from /proc/<pid>/stat over the measured
 * window, divided by the requests wrk counted in it). Far steadier than req/s on a shared machine.
 */
export function cpuUsPerRequest(r: RunRecord): Record<string, number> {
  const out: Record<string, number> = {};
  if (r.wrk.requests === 0) return out;
  for (const [role, s] of Object.entries(r.cpuS)) if (role !== 'total') out[role] = (s * 1e6) / r.wrk.requests;
  return out;
}

function medianPerRole(runs: readonly RunRecord[]): Record<string, number> {
  const per = runs.map(cpuUsPerRequest);
  const roles = [...new Set(per.flatMap((p) => Object.keys(p)))];
  return Object.fromEntries(roles.map((role) => [role, median(per.map((p) => p[role]).filter((x): x is number => x !== undefined))]));
}

/** Medians per variant, in the scenario's variant order. */
export function summarize(s: ScenarioResult): VariantSummary[] {
  return s.variants.map((spec) => {
    const runs = s.runs.filter((r) => r.variant === spec.id);
    const rps = runs.map((r) => r.wrk.rps);
    const m = median(rps);
    const idle = s.idleRss[spec.id] ?? [];
    const idleAnon = s.idleRssAnon[spec.id] ?? [];
    return {
      variant: spec.id,
      kind: spec.kind,
      workers: spec.workers,
      rounds: runs.length,
      rps: m,
      rpsSpread: runs.length > 1 ? (Math.max(...rps) - Math.min(...rps)) / m : 0,
      p50Ms: median(runs.map((r) => r.wrk.latencyUs.p50)) / 1000,
      p99Ms: median(runs.map((r) => r.wrk.latencyUs.p99)) / 1000,
      p999Ms: median(runs.map((r) => r.wrk.latencyUs.p999)) / 1000,
      errors: runs.reduce((a, r) => a + r.wrk.errors.total, 0),
      timeouts: runs.reduce((a, r) => a + r.wrk.errors.timeout, 0),
      cpuMsPer1k: median(runs.map((r) => r.cpuMsPer1k)),
      cpuSpread: runs.length > 1 ? (Math.max(...runs.map((r) => r.cpuMsPer1k)) - Math.min(...runs.map((r) => r.cpuMsPer1k))) / median(runs.map((r) => r.cpuMsPer1k)) : 0,
      mongrel2CpuMsPer1k: median(runs.map((r) => (r.wrk.requests > 0 ? ((r.cpuS['mongrel2'] ?? 0) * 1e6) / r.wrk.requests : Number.NaN))),
      cpuUsPerRequest: medianPerRole(runs),
      workerRssMiB: mib(medianOrUndefined(runs.map((r) => (r.rss.worker.length === 0 ? undefined : Math.max(...r.rss.worker))))),
      idleWorkerRssMiB: idle.length === 0 ? undefined : Math.max(...idle) / MiB,
      idleWorkerRssAnonMiB: idleAnon.length === 0 ? undefined : Math.max(...idleAnon) / MiB,
      supervisorRssMiB: mib(medianOrUndefined(runs.map((r) => r.rss.supervisor ?? r.rss.primary))),
      mongrel2RssMiB: mib(medianOrUndefined(runs.map((r) => r.rss.mongrel2))),
      otherCpuS: median(runs.map((r) => r.otherCpuS)),
    };
  });
}

function mib(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : bytes / MiB;
}

const PAIRS: ReadonlyArray<[string, string, string]> = [
  ['m2pool-defaults', 'floor', 'a0/b (m2pool defaults / floor)'],
  ['m2pool', 'floor', 'a/b (m2pool / floor)'],
  ['m2pool', 'm2pool-defaults', 'a/a0 (tuned / defaults)'],
  ['m2pool', 'static', 'a/c (m2pool / static)'],
  ['m2pool', 'node-http', 'a/d (m2pool / node:http)'],
  ['floor', 'static', 'b/c (floor / static)'],
  ['m2pool-x', 'm2pool', 'x/a (m2pool-x / m2pool)'],
  ['m2pool-x', 'floor', 'x/b (m2pool-x / floor)'],
  ['m2pool-hono', 'm2pool', 'hono/a (Hono app via the fetch adapter / m2pool App)'],
  ['m2pool-express', 'm2pool', 'express/a (Express app via the node:http adapter / m2pool App)'],
];

/** Ratios between the variants of one scenario (by variant id). */
export function ratios(name: string, summary: readonly VariantSummary[]): Ratio[] {
  const by = new Map(summary.map((v) => [v.variant, v]));
  const out: Ratio[] = [];
  for (const [x, y, pair] of PAIRS) {
    const a = by.get(x);
    const b = by.get(y);
    if (a === undefined || b === undefined) continue;
    out.push(ratio(name, pair, a, b));
  }
  const on = by.get('m2pool');
  const off = by.get('m2pool-nometrics');
  if (on !== undefined && off !== undefined) out.push(ratio(name, 'metrics on / off', on, off));
  return out;
}

function ratio(scenario: string, pair: string, a: VariantSummary, b: VariantSummary): Ratio {
  const workerCpu = (a.cpuUsPerRequest['worker'] ?? Number.NaN) / (b.cpuUsPerRequest['worker'] ?? Number.NaN);
  return { scenario, pair, throughput: a.rps / b.rps, p99: a.p99Ms / b.p99Ms, cpuPer1k: a.cpuMsPer1k / b.cpuMsPer1k, workerCpu };
}

/** The issue's targets, evaluated on the scenarios that were run. */
export function targets(scenarios: BenchReport['scenarios'], idleRss: IdleRssResult | null = null): Target[] {
  const out: Target[] = [];
  out.push(...partTargets(scenarios));
  if (idleRss !== null) {
    const above = (idleRss.worker.rss - idleRss.baseline.rss) / MiB;
    out.push({
      name: 'idle worker RSS above a bare node + zeromq + IPC process (idle-rss)',
      goal: '≤ 6 MiB',
      value: `${above.toFixed(1)} MiB (${(idleRss.worker.rss / MiB).toFixed(1)} − ${(idleRss.baseline.rss / MiB).toFixed(1)}; medians of ${idleRss.rounds})`,
      met: above <= 6,
    });
  }
  for (const s of scenarios) {
    // The per-part scenarios have their own targets (issue 23), in CPU per request rather than req/s.
    if (isPartScenario(s.name)) continue;
    const w = s.variants.find((v) => v.kind === 'm2pool')?.workers ?? 0;
    for (const prefix of ['a0/b', 'a/b']) {
      const r = s.ratios.find((x) => x.pair.startsWith(prefix));
      if (r === undefined) continue;
      out.push({ name: `${s.name}: throughput ${prefix} (${w} workers)`, goal: '≥ 0.90', value: r.throughput.toFixed(3), met: r.throughput >= 0.9 });
      out.push({ name: `${s.name}: p99 ${prefix}`, goal: prefix === 'a0/b' ? '≤ 1.30' : '≤ 1.20', value: r.p99.toFixed(3), met: r.p99 <= (prefix === 'a0/b' ? 1.3 : 1.2) });
    }
  }
  for (const s of scenarios) {
    const r = s.ratios.find((x) => x.pair === 'metrics on / off');
    if (r === undefined) continue;
    const cost = r.workerCpu - 1;
    out.push({ name: `${s.name}: metrics cost (worker CPU/req on/off − 1)`, goal: '≤ 3%', value: `${(cost * 100).toFixed(1)}% (req/s ${((1 - r.throughput) * 100).toFixed(1)}% lower)`, met: cost <= 0.03 });
  }
  for (const s of scenarios) {
    const r = s.ratios.find((x) => x.pair.startsWith('a/a0'));
    if (r === undefined) continue;
    // a0 and a differ only in the request log (both have metrics on).
    const cost = 1 / r.workerCpu - 1;
    out.push({ name: `${s.name}: defaults' extra cost (worker CPU/req a0/a − 1; the request log)`, goal: '≤ 3%', value: `${(cost * 100).toFixed(1)}%`, met: cost <= 0.03 });
  }
  const idle = scenarios.flatMap((s) => s.summary.filter((v) => v.kind === 'm2pool' && v.idleWorkerRssMiB !== undefined).map((v) => v.idleWorkerRssMiB!));
  if (idle.length > 0) {
    const max = Math.max(...idle);
    out.push({ name: 'idle m2pool worker RSS (largest seen)', goal: '≤ 50 MiB', value: `${max.toFixed(1)} MiB`, met: max <= 50 });
  }
  return out;
}

/** The per-part scenarios (`parts`, `parts-close`): one process each, CPU per request by role. */
export function isPartScenario(name: string): boolean {
  return name === 'parts' || name.startsWith('parts-');
}

/**
 * Issue 23's targets, from the per-part scenarios: the worker at the floor's CPU per request in both transports
 * (and Mongrel2 serving it at its cost serving the floor), the dispatcher at most half of Mongrel2's, the default
 * pool's total within 1.3× the floor's (throughput beside it). Idle memory: the idle-RSS comparison.
 */
function partTargets(scenarios: BenchReport['scenarios']): Target[] {
  const out: Target[] = [];
  const role = (v: VariantSummary | undefined, r: string): number => v?.cpuUsPerRequest[r] ?? Number.NaN;
  const target = (name: string, goal: number, x: number, extra = ''): void => {
    out.push({ name, goal: `≤ ${goal.toFixed(2)}`, value: `${Number.isFinite(x) ? x.toFixed(2) : '–'}${extra}`, met: Number.isFinite(x) ? x <= goal : undefined });
  };
  for (const s of scenarios.filter((x) => isPartScenario(x.name))) {
    const by = new Map(s.summary.map((v) => [v.variant, v]));
    const floor = by.get('floor');
    const direct = by.get('m2pool-direct');
    const pool = by.get('m2pool-defaults');
    if (s.name === 'parts') {
      target(`${s.name}: worker CPU/req, direct / floor`, 1.1, role(direct, 'worker') / role(floor, 'worker'), ` (${f(role(direct, 'worker'))} / ${f(role(floor, 'worker'))} µs)`);
      target(`${s.name}: worker CPU/req, dispatch / floor`, 1.1, role(pool, 'worker') / role(floor, 'worker'), ` (${f(role(pool, 'worker'))} / ${f(role(floor, 'worker'))} µs)`);
      target(`${s.name}: Mongrel2 CPU/req serving m2pool direct / serving the floor`, 1.1, role(direct, 'mongrel2') / role(floor, 'mongrel2'), ` (${f(role(direct, 'mongrel2'))} / ${f(role(floor, 'mongrel2'))} µs)`);
      target(`${s.name}: Mongrel2 CPU/req serving m2pool dispatch / serving the floor`, 1.1, role(pool, 'mongrel2') / role(floor, 'mongrel2'), ` (${f(role(pool, 'mongrel2'))} / ${f(role(floor, 'mongrel2'))} µs)`);
    }
    target(`${s.name}: dispatcher CPU/req / Mongrel2's (m2pool start defaults)`, 0.5, role(pool, 'dispatcher') / role(pool, 'mongrel2'), ` (${f(role(pool, 'dispatcher'))} / ${f(role(pool, 'mongrel2'))} µs)`);
    if (pool !== undefined && floor !== undefined) {
      target(`${s.name}: default pool total CPU/req / floor's`, 1.3, pool.cpuMsPer1k / floor.cpuMsPer1k, ` (${f(pool.cpuMsPer1k)} / ${f(floor.cpuMsPer1k)} µs; throughput ${(pool.rps / floor.rps).toFixed(2)}× the floor's, expected ≥ 0.75)`);
    }
  }
  return out;
}

/** The per-part table: CPU µs per request by role, ratios against the floor of the same run. */
function partTable(s: BenchReport['scenarios'][number]): string[] {
  const floor = s.summary.find((v) => v.variant === 'floor');
  const lines = [
    `### ${s.name}: ${s.title}`,
    '',
    '| variant | req/s | vs floor | total CPU µs/req | spread | vs floor | worker | Mongrel2 | dispatcher / hop | supervisor / primary | errors |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const v of s.summary) {
    const r = (x: string): string => f(v.cpuUsPerRequest[x]);
    const sup = v.cpuUsPerRequest['supervisor'] ?? v.cpuUsPerRequest['primary'];
    lines.push(
      `| ${v.variant} | ${f(v.rps, 0)} | ${floor === undefined ? '–' : (v.rps / floor.rps).toFixed(2)} | ${f(v.cpuMsPer1k)} | ${f(v.cpuSpread * 100, 0)}% | ${floor === undefined ? '–' : (v.cpuMsPer1k / floor.cpuMsPer1k).toFixed(2)} | ${r('worker')} | ${r('mongrel2')} | ${r('dispatcher')} | ${f(sup)} | ${v.errors} |`,
    );
  }
  lines.push('');
  return lines;
}

function f(n: number | undefined, digits = 1): string {
  return n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits);
}

function loadText(load: Load): string {
  return 'path' in load ? `GET ${load.path}` : load.mix.map((m) => `${Math.round(m.weight * 100)}% GET ${m.path}`).join(' + ');
}

/** The markdown report. */
export function markdown(report: BenchReport): string {
  const m = report.meta.machine;
  const o = report.meta.options;
  const lines: string[] = [];
  lines.push(`# m2pool benchmark — ${report.meta.date}`, '');
  lines.push(`Command: \`${report.meta.command}\` (${(report.meta.totalS / 60).toFixed(1)} min; ${String(o['rounds'])} interleaved rounds × ${String(o['durationS'])} s per variant after ${String(o['warmupS'])} s warm-up (${String(o['firstWarmupS'])} s in round 1); medians of the rounds; wrk -t${String(o['threads'])}).`, '');
  lines.push('| machine | |', '|---|---|');
  lines.push(`| CPUs (nproc) | ${m.nproc} |`, `| CPU model | ${m.cpuModel} |`, `| memory | ${m.memTotalMiB} MiB |`, `| kernel | ${m.kernel} |`);
  lines.push(`| node | ${m.node} |`, `| Mongrel2 | ${m.mongrel2} |`, `| zeromq.js | ${m.zeromq} |`, `| wrk | ${m.wrk} |`, `| ulimit -n | ${m.ulimitN} |`, '');
  lines.push('Variants: **a0** `m2pool-defaults` = `m2pool start` exactly as a user runs it (request log and metrics at their defaults); **a** `m2pool` = the same pool tuned as before (metrics on unless `-nometrics`, request log off); **b** `floor` = test/bench/floor-handler.ts on raw zeromq.js; **c** `static` = Mongrel2 serving a file of the same body size from a Dir route; **d** `node-http` = the same app on node:http (node:cluster, test/bench/http-server.ts calling `app.dispatch` with a RawMessage built from the request). The load generator runs on the same machine and competes for its CPUs.', '');
  if (report.targets.length > 0) {
    lines.push('## Targets (issues #5 and #23; reported, not asserted)', '', '| target | goal | measured | met |', '|---|---|---|---|');
    for (const t of report.targets) lines.push(`| ${t.name} | ${t.goal} | ${t.value} | ${t.met === undefined ? '–' : t.met ? 'yes' : '**no**'} |`);
    lines.push('');
  }
  if (report.scenarios.length > 0) {
    lines.push('## Results', '');
    lines.push('| scenario | variant | workers | req/s | spread | p50 ms | p99 ms | p99.9 ms | errors | CPU ms / 1k req (Mongrel2 part) | worker CPU µs / req | worker RSS MiB: idle (anon) → loaded | supervisor / primary RSS MiB | Mongrel2 RSS MiB | other load CPU s |');
    lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
    for (const s of report.scenarios) {
      for (const v of s.summary) {
        const rss = v.workerRssMiB === undefined ? '–' : `${f(v.idleWorkerRssMiB)} (${f(v.idleWorkerRssAnonMiB)}) → ${f(v.workerRssMiB)}`;
        const cpu = v.kind === 'node-http' ? f(v.cpuMsPer1k, 1) : `${f(v.cpuMsPer1k, 1)} (${f(v.mongrel2CpuMsPer1k, 1)})`;
        lines.push(`| ${s.name} | ${v.variant} | ${v.workers || '–'} | ${f(v.rps, 0)} | ${f(v.rpsSpread * 100, 0)}% | ${f(v.p50Ms, 2)} | ${f(v.p99Ms, 2)} | ${f(v.p999Ms, 2)} | ${v.errors}${v.timeouts > 0 ? ` (${v.timeouts} timeouts)` : ''} | ${cpu} | ${f(v.cpuUsPerRequest['worker'], 1)} | ${rss} | ${f(v.supervisorRssMiB)} | ${f(v.mongrel2RssMiB)} | ${f(v.otherCpuS, 1)} |`);
      }
    }
    const parts = report.scenarios.filter((s) => isPartScenario(s.name));
    if (parts.length > 0) {
      lines.push('', '## What each part costs per request (issue 23)', '');
      lines.push('CPU µs per request = utime + stime from /proc/<pid>/stat over the measured window / requests wrk counted; medians of the rounds; spread = (max − min) / median of the total. floor = test/bench/floor-handler.ts; m2pool-direct / m2pool-defaults = `m2pool start` with defaults, `--topology direct` / the default dispatch; hop-ts = the m2pool dispatcher alone (`m2pool dispatcher`, defaults); hop-js / hop-c = the same `m2pool worker` (dispatch transport, not forked: no metrics) behind the thinnest forwarder in zeromq.js (test/bench/hop-forwarder.ts) / in C against libzmq (test/bench/hop-forwarder.c).', '');
      for (const s of parts) lines.push(...partTable(s));
    }
    lines.push('', 'Scenarios:', '');
    for (const s of report.scenarios) lines.push(`- **${s.name}**: ${s.title} — ${s.connections} connections, ${loadText(s.load)}${s.staticLoad === undefined ? '' : ` (static: ${loadText(s.staticLoad)})`}, app \`${s.app}\`.`);
    lines.push('', '## Ratios (same scenario, same run)', '', '| scenario | ratio | throughput | p99 | CPU / 1k req | worker CPU / req |', '|---|---|--:|--:|--:|--:|');
    for (const s of report.scenarios) for (const r of s.ratios) lines.push(`| ${s.name} | ${r.pair} | ${r.throughput.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.cpuPer1k.toFixed(3)} | ${f(r.workerCpu, 3)} |`);
    lines.push('');
  }
  if (report.codec.length > 0) {
    lines.push('## Codec micro benchmarks (one process, no I/O)', '', '| case | bytes | ops/s | ns/op |', '|---|--:|--:|--:|');
    for (const c of report.codec) lines.push(`| ${c.name} | ${c.bytes} | ${Math.round(c.opsPerSec).toLocaleString('en-US')} | ${Math.round(c.nsPerOp)} |`);
    lines.push('');
  }
  if (report.pipeline.length > 0) {
    lines.push('## Worker pipeline without ZeroMQ (one process, fake link; CPU time)', '', '| case | requests per CPU second | CPU µs / request |', '|---|--:|--:|');
    for (const p of report.pipeline) lines.push(`| ${p.name} | ${Math.round(p.requestsPerSec).toLocaleString('en-US')} | ${p.usPerRequest.toFixed(2)} |`);
    lines.push('');
  }
  if (report.autoscale !== null) lines.push(...autoscaleStepMarkdown(report.autoscale));
  if (report.fanout !== undefined && report.fanout !== null) lines.push(...fanoutMarkdown(report.fanout));
  const profiled = report.scenarios.filter((s) => s.profiles !== undefined);
  if (profiled.length > 0) {
    lines.push('## CPU profiles (V8 sampling profiler, self time; `<variant>` = its workers, `<variant>/dispatcher` = its dispatcher or hop)', '');
    for (const s of profiled) {
      for (const [variant, p] of Object.entries(s.profiles ?? {})) {
        lines.push(`### ${s.name} / ${variant}: ${p.profiles} profiles, ${(p.busyMs / 1000).toFixed(1)} s busy of ${(p.sampledMs / 1000).toFixed(1)} s sampled, ${p.requests} requests → ${p.busyUsPerRequest.toFixed(1)} µs busy main-thread time per request`, '');
        lines.push('| self % of busy | self µs / req | function | where |', '|--:|--:|---|---|');
        for (const t of p.top.slice(0, 25)) lines.push(`| ${t.pct.toFixed(1)} | ${t.usPerRequest.toFixed(2)} | ${t.fn} | ${t.where} |`);
        lines.push('', '| self % of busy | self µs / req | area |', '|--:|--:|---|');
        for (const a of p.byArea.filter((x) => x.pct >= 0.5)) lines.push(`| ${a.pct.toFixed(1)} | ${a.usPerRequest.toFixed(2)} | ${a.area} |`);
        lines.push('');
      }
    }
  }
  if (report.meta.notes.length > 0) {
    lines.push('## Notes', '');
    for (const n of report.meta.notes) lines.push(`- ${n}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
