/**
 * `npm run bench`: the reproducible benchmark of issue #5. Starts a real Mongrel2 per scenario, drives HTTP load
 * with wrk, and compares in one run, interleaved (round r runs every variant once, in a rotated order; the
 * medians of the rounds are reported):
 *   (a) m2pool — a pool of N workers (`m2pool start`) serving the app through Mongrel2
 *   (b) floor — N processes of the thinnest correct zeromq.js handler (floor-handler.ts)
 *   (c) static — Mongrel2 serving a file of the same size by itself (Dir route): the ceiling
 *   (d) node-http — the same app on plain node:http (node:cluster, N workers): what Mongrel2 costs
 * plus micro benchmarks of the codec and of the worker pipeline without ZeroMQ. Writes raw results as JSON and a
 * markdown report.
 * Never part of `npm test`. Run `npm run bench -- --help` for the options.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../helpers/processes';
import { AUTOSCALE_STEP_DEFAULTS, runAutoscaleStep, type AutoscaleStepReport } from './autoscale-step';
import { runCodecBench, type CodecResult } from './codec';
import { FANOUT_DEFAULTS, runFanout, type FanoutReport } from './fanout';
import { runIdleRss, type IdleRssResult } from './idle-rss';
import { runPipelineBench, type PipelineResult } from './pipeline';
import { startBenchMongrel2, STATIC_HOST, type BenchMongrel2 } from './mongrel2-bench';
import { installCleanup, stopAll } from './procs';
import { cpuSeconds, machineBusySeconds, machineCpu, rssAnonBytes, rssBytes } from './procstat';
import { profilesOf, summarizeProfiles, type ProfileSummary } from './profile';
import { cpuUsPerRequest, markdown, ratios, summarize, targets, type BenchReport, type MachineInfo, type RunRecord, type ScenarioResult } from './report';
import { appModule, hostOf, SkippedVariant, startVariant, type AppName, type RunningVariant, type VariantKind, type VariantSpec } from './variants';
import { runWrk, WRK_HINT, wrkVersion, type Load } from './wrk';

const USAGE = `usage: npm run bench [-- options]

Runs every scenario but those marked [--only] in --list (about 18 minutes on a 2-core machine, the autoscale
step and fanout included) and writes
test/bench/results/<date>-<machine>.{json,md}. Partial runs (--quick, --only, --variants, --profile,
--pool-arg, or changed durations) write to ${path.join(os.tmpdir(), 'm2pool-bench')} unless --out is given.

options:
  --quick              short smoke run: 1 round, 1 s warm-up, 3 s per variant, scenarios echo-c50, bytes-64k, slow-mix and codec
  --only NAME          run only these scenarios (repeatable or comma-separated; 'codec' = the micro benchmarks,
                       'autoscale-step' = a load step against the autoscaler versus fixed pools at min and max,
                       'fanout' = one broadcast to 1,000 WebSocket members: time to the last one, deliveries/s, CPU;
                       'idle-rss' = an idle worker's RSS above a bare node + zeromq + IPC process);
                       'parts' = what each part costs per request (1 process each; floor, m2pool direct and
                       dispatch, Mongrel2 alone, node:http, the hop floors hop-js and hop-c; keep-alive and, as
                       parts-close, one request per connection; about 4 minutes);
                       a name matches exactly, else as a prefix, e.g. --only echo,workers
  --variants IDS       only these variants (m2pool-defaults, m2pool-direct, m2pool, m2pool-nometrics, floor, static, node-http, hop-ts, hop-js, hop-c,
                       m2pool-hono, m2pool-express);
                       m2pool-defaults = \`m2pool start\` with nothing tuned (request log and metrics at their defaults)
  --rounds N           interleaved rounds per scenario (default 3, parts 5; --quick 1)
  --duration S         measured seconds per variant per round (default 6, parts 3; --quick 3)
  --warmup S           warm-up seconds before each measurement (default 1)
  --first-warmup S     warm-up before a variant's first measurement (default 3; --quick 1)
  --workers N          handler processes for a, b and d outside the workers-* scenarios (default 2)
  --threads N          wrk threads (default 1: the machine's other core serves)
  --quiet-wait S       before each run, wait up to S seconds for other load on the machine to stop (default 1.5; --quick 0)
  --profile            run the V8 CPU profiler in every Node process and summarise worker self time per function
  --pool-arg ARG       extra flag for every \`m2pool start\` (repeatable), e.g. --pool-arg=--receive-hwm --pool-arg=100
  --x-arg ARG          add variant m2pool-x next to every m2pool: the same pool plus this flag (repeatable)
  --x-root DIR         ... and/or running another built checkout (DIR/dist/src/cli/main.js and DIR's apps):
                       before/after numbers for a change, measured in the same run (parts: hop-ts-x = that
                       checkout's dispatcher in front of this one's worker)
  --out DIR            write the JSON and markdown here
  --keep-tmp           keep the temp directory (configs, logs, profiles)
  --list               list the scenarios and exit
  --help               this text
`;

interface Scenario {
  readonly name: string;
  readonly title: string;
  readonly app: AppName;
  readonly connections: number;
  readonly load: Load;
  readonly staticLoad?: Load;
  readonly staticFiles: Readonly<Record<string, Buffer>>;
  readonly variants: readonly VariantSpec[];
  readonly quick: boolean;
  /** Part of the default full run (false: only with --only, e.g. scenarios another one covers). @default true */
  readonly full?: boolean;
  /** Header encoding of the scenario's Mongrel2 handlers. @default 'tnetstring' */
  readonly protocol?: 'tnetstring' | 'json';
  /** Extra request headers wrk sends (e.g. `Connection: close`: one request per connection). */
  readonly headers?: readonly string[];
  /** Rounds and seconds per measurement of this scenario, unless --rounds / --duration say otherwise. */
  readonly rounds?: number;
  readonly durationS?: number;
}

const ECHO_PATH = '/echo/hello';

function variant(kind: VariantKind, workers: number, extra: { id?: string; metrics?: boolean; defaults?: boolean; app?: AppName } = {}): VariantSpec {
  return {
    id: extra.id ?? kind,
    kind,
    workers: kind === 'static' ? 0 : workers,
    ...(extra.metrics === undefined ? {} : { metrics: extra.metrics }),
    ...(extra.defaults === undefined ? {} : { defaults: extra.defaults }),
    ...(extra.app === undefined ? {} : { app: extra.app }),
  };
}

/** `m2pool start` exactly as a user runs it: request log and metrics at their defaults. */
function defaultsVariant(workers: number): VariantSpec {
  return variant('m2pool', workers, { id: 'm2pool-defaults', defaults: true });
}

/** `m2pool start --topology direct` as a user runs it: workers straight on Mongrel2, no dispatcher. */
function directVariant(workers: number): VariantSpec {
  return { ...variant('m2pool', workers, { id: 'm2pool-direct', defaults: true }), args: ['--topology', 'direct'] };
}

/**
 * The per-part scenarios (issue 23): one process of each kind, JSON headers, CPU per request by role. The
 * variants: the floor handler; `m2pool start` direct and dispatch with defaults; Mongrel2 alone; node:http; and
 * the same `m2pool worker` behind the thinnest forwarders in zeromq.js and in C (the floor of a hop).
 */
function partScenarios(): Scenario[] {
  const path = '/echo/x';
  const parts = (): VariantSpec[] => [
    variant('floor', 1),
    directVariant(1),
    defaultsVariant(1),
    variant('static', 0),
    variant('node-http', 1),
    variant('hop-ts', 1),
    variant('hop-js', 1),
    variant('hop-c', 1),
  ];
  const common = { app: 'hello' as const, load: { path }, staticLoad: { path: '/static/echo.txt' }, staticFiles: { 'echo.txt': Buffer.from(path) }, protocol: 'json' as const };
  return [
    { ...common, name: 'parts', title: 'what each part costs per request: 1 process each, JSON headers, keep-alive', connections: 50, variants: parts(), quick: true, rounds: 5, durationS: 3 },
    {
      ...common,
      name: 'parts-close',
      title: 'the same with one request per connection (Connection: close): every connection also brings Mongrel2\'s disconnect notice',
      connections: 1000,
      headers: ['Connection: close'],
      // The dispatcher's side of the notices: the pool, its dispatcher alone and the two hop floors, against the floor.
      variants: parts().filter((v) => ['floor', 'm2pool-defaults', 'hop-ts', 'hop-js', 'hop-c'].includes(v.id)),
      quick: false,
      rounds: 3,
      durationS: 3,
    },
  ];
}

function scenarios(n: number): Scenario[] {
  const echoFile = { 'echo.txt': Buffer.from(ECHO_PATH) }; // same bytes as the /echo/hello body
  const all4 = [variant('m2pool', n), variant('floor', n), variant('static', 0), variant('node-http', n)];
  const handlers = (w: number): VariantSpec[] => [variant('m2pool', w), variant('floor', w), variant('node-http', w)];
  const withDefaults = (w: number): VariantSpec[] => [defaultsVariant(w), variant('m2pool', w), variant('floor', w), variant('node-http', w)];
  const sized = (name: string, bytes: number, quick: boolean): Scenario => ({
    name,
    title: `${bytes} B response bodies, ${n} workers`,
    app: 'bench',
    connections: 50,
    load: { path: `/bytes/${bytes}` },
    staticLoad: { path: `/static/${bytes}.bin` },
    staticFiles: { [`${bytes}.bin`]: Buffer.alloc(bytes, 'x') },
    variants: all4,
    quick,
  });
  return [
    ...partScenarios(),
    {
      name: 'echo-c50',
      title: `small responses, ${n} workers, m2pool with metrics on and off`,
      app: 'hello',
      connections: 50,
      load: { path: ECHO_PATH },
      staticLoad: { path: '/static/echo.txt' },
      staticFiles: echoFile,
      variants: [defaultsVariant(n), variant('m2pool', n), variant('m2pool', n, { id: 'm2pool-nometrics', metrics: false }), variant('floor', n), variant('static', 0), variant('node-http', n)],
      quick: true,
    },
    {
      name: 'echo-c1000',
      title: `1000 concurrent keep-alive connections, ${n} workers`,
      app: 'hello',
      connections: 1000,
      load: { path: ECHO_PATH },
      staticLoad: { path: '/static/echo.txt' },
      staticFiles: echoFile,
      variants: all4,
      quick: false,
    },
    sized('bytes-1k', 1024, false),
    sized('bytes-64k', 65536, true),
    {
      name: 'slow-mix',
      title: `10% of requests wait 50 ms in the handler (tail latency), ${n} workers`,
      app: 'hello',
      connections: 50,
      load: { mix: [{ path: ECHO_PATH, weight: 0.9 }, { path: '/slow?ms=50', weight: 0.1 }] },
      staticFiles: {},
      variants: handlers(n),
      quick: true,
    },
    {
      name: 'adapters',
      title: `GET /hello/:name on m2pool's own App, a Hono app (fetch adapter) and an Express app (node:http adapter), ${n} workers`,
      app: 'bench',
      connections: 50,
      load: { path: '/hello/bench' },
      staticFiles: {},
      variants: [variant('m2pool', n), variant('m2pool', n, { id: 'm2pool-hono', app: 'hono' }), variant('m2pool', n, { id: 'm2pool-express', app: 'express' })],
      quick: false,
    },
    // Not in the default full run: `parts` measures 1 process each and echo-c50 2 workers with the same variants.
    { name: 'workers-1', title: 'small responses, 1 worker each', app: 'hello', connections: 50, load: { path: ECHO_PATH }, staticFiles: {}, variants: withDefaults(1), quick: false, full: false },
    { name: 'workers-2', title: 'small responses, 2 workers each', app: 'hello', connections: 50, load: { path: ECHO_PATH }, staticFiles: {}, variants: withDefaults(2), quick: false, full: false },
    { name: 'workers-4', title: 'small responses, 4 workers each', app: 'hello', connections: 50, load: { path: ECHO_PATH }, staticFiles: {}, variants: withDefaults(4), quick: false },
  ];
}

/**
 * Adds the m2pool-x variant (before/after experiments) right after the scenario's m2pool variant, and with --x-root
 * hop-ts-x after hop-ts: the other checkout's dispatcher in front of this checkout's worker.
 */
function withX(s: Scenario, x: Options['x']): Scenario {
  if (x === undefined) return s;
  const variants = s.variants.flatMap((v) => {
    if (v.id === 'm2pool') return [v, { ...v, id: 'm2pool-x', args: x.args, ...(x.root === undefined ? {} : { root: x.root }) }];
    if (v.id === 'hop-ts' && x.root !== undefined) return [v, { ...v, id: 'hop-ts-x', root: x.root }];
    return [v];
  });
  return { ...s, variants };
}

interface Options {
  readonly quick: boolean;
  readonly only: readonly string[];
  readonly variants: readonly string[];
  readonly rounds: number;
  readonly durationS: number;
  /** --rounds / --duration were given: they win over a scenario's own. */
  readonly roundsGiven: boolean;
  readonly durationGiven: boolean;
  readonly warmupS: number;
  readonly firstWarmupS: number;
  readonly workers: number;
  readonly threads: number;
  readonly quietWaitS: number;
  readonly profile: boolean;
  readonly poolArgs: readonly string[];
  /** The m2pool-x variant: extra flags and/or another checkout. */
  readonly x: { readonly args: readonly string[]; readonly root: string | undefined } | undefined;
  readonly out: string | undefined;
  readonly keepTmp: boolean;
  readonly list: boolean;
  readonly help: boolean;
  /** True when this is the full default run (results go to test/bench/results). */
  readonly canonical: boolean;
}

function readOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      variants: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      'first-warmup': { type: 'string' },
      workers: { type: 'string' },
      threads: { type: 'string' },
      'quiet-wait': { type: 'string' },
      profile: { type: 'boolean', default: false },
      'pool-arg': { type: 'string', multiple: true },
      'x-arg': { type: 'string', multiple: true },
      'x-root': { type: 'string' },
      out: { type: 'string' },
      'keep-tmp': { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const num = (name: string, v: string | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  const split = (xs: string[] | undefined): string[] => (xs ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
  const quick = values.quick === true;
  const only = split(values.only);
  const variants = split(values.variants);
  const poolArgs = values['pool-arg'] ?? [];
  const xArgs = values['x-arg'] ?? [];
  const xRoot = values['x-root'] === undefined ? undefined : path.resolve(values['x-root']);
  if (xRoot !== undefined && !existsSync(path.join(xRoot, 'dist/src/cli/main.js'))) throw new Error(`--x-root ${xRoot} has no dist/src/cli/main.js (build it first)`);
  const x = xArgs.length > 0 || xRoot !== undefined ? { args: xArgs, root: xRoot } : undefined;
  const tuned = ['rounds', 'duration', 'warmup', 'first-warmup', 'workers', 'threads'].some((k) => (values as Record<string, unknown>)[k] !== undefined);
  return {
    quick,
    only,
    variants,
    rounds: num('rounds', values.rounds, quick ? 1 : 3, 1),
    durationS: num('duration', values.duration, quick ? 3 : 6, 1),
    roundsGiven: quick || values.rounds !== undefined,
    durationGiven: quick || values.duration !== undefined,
    warmupS: num('warmup', values.warmup, 1, 0),
    firstWarmupS: num('first-warmup', values['first-warmup'], quick ? 1 : 3, 0),
    workers: num('workers', values.workers, 2, 1),
    threads: num('threads', values.threads, 1, 1),
    quietWaitS: num('quiet-wait', values['quiet-wait'], quick ? 0 : 1.5, 0),
    profile: values.profile === true,
    poolArgs,
    x,
    out: values.out,
    keepTmp: values['keep-tmp'] === true,
    list: values.list === true,
    help: values.help === true,
    canonical: !quick && only.length === 0 && variants.length === 0 && values.profile !== true && poolArgs.length === 0 && x === undefined && !tuned,
  };
}

/** Every scenario name --only can match (the exact name wins: `--only parts` is not `parts-close`). */
const ALL_NAMES = new Set<string>(['codec', 'autoscale-step', 'fanout', 'idle-rss']);

function selected(name: string, opts: Options, quickDefault: boolean, full = true): boolean {
  if (opts.only.length > 0) return opts.only.some((o) => name === o || (!ALL_NAMES.has(o) && name.startsWith(o)));
  return opts.quick ? quickDefault : full;
}

function sh(cmd: string, args: readonly string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.error === undefined && r.status === 0 ? r.stdout.trim() : undefined;
}

function machineInfo(wrk: string): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  let zeromq = '?';
  try {
    zeromq = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules/zeromq/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // not installed where expected
  }
  return {
    nproc: Number(sh('nproc', []) ?? os.cpus().length),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? '?',
    memTotalMiB: Math.round(Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0) / 1024),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    mongrel2: `mongrel2-core ${sh('dpkg-query', ['-W', '-f=${Version}', 'mongrel2-core']) ?? '?'}`,
    zeromq,
    wrk,
    ulimitN: sh('sh', ['-c', 'ulimit -n']) ?? '?',
  };
}

function machineSlug(m: MachineInfo): string {
  const cpu = m.cpuModel.toLowerCase().replace(/\(r\)|\(tm\)|cpu|processor|@.*$/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 32);
  return `${m.nproc}cpu-${cpu || 'unknown'}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Another job on the machine (someone else's load test) skews whichever variant runs at that moment: wait up to
 * `maxMs` for the machine to be quiet (under 0.3 busy cores over 250 ms). Returns the busy cores seen last.
 */
async function waitForQuiet(maxMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const b0 = machineBusySeconds();
    await sleep(250);
    const cores = (machineBusySeconds() - b0) / 0.25;
    if (cores < 0.3 || Date.now() - start >= maxMs) return cores;
  }
}

function fmtRun(r: RunRecord): string {
  const w = r.wrk;
  const perRole = Object.entries(cpuUsPerRequest(r)).map(([role, us]) => `${role} ${us.toFixed(1)}`).join(', ');
  return `${w.rps.toFixed(0).padStart(7)} req/s  p50 ${(w.latencyUs.p50 / 1000).toFixed(2).padStart(6)} ms  p99 ${(w.latencyUs.p99 / 1000).toFixed(2).padStart(7)} ms  errors ${w.errors.total}  CPU ${r.cpuMsPer1k.toFixed(1)} ms/1k req (µs/req: ${perRole})  (softirq ${r.softirqS.toFixed(1)} s, other load ${r.otherCpuS.toFixed(1)} s)`;
}

function loadFor(s: Scenario, v: RunningVariant): Load {
  return v.spec.kind === 'static' ? (s.staticLoad ?? s.load) : s.load;
}

/** One measured wrk run with CPU and memory accounting. */
/** Rounds and measured seconds of scenario `s` (its own, unless given on the command line or --quick). */
function roundsOf(s: Scenario, opts: Options): { rounds: number; durationS: number } {
  return { rounds: opts.roundsGiven ? opts.rounds : (s.rounds ?? opts.rounds), durationS: opts.durationGiven ? opts.durationS : (s.durationS ?? opts.durationS) };
}

async function measure(s: Scenario, v: RunningVariant, opts: Options, workDir: string, round: number): Promise<RunRecord> {
  const members = v.members();
  const before = members.map((m) => cpuSeconds(m.pid));
  const machine0 = machineCpu();
  const self0 = process.cpuUsage();
  const wrk = await runWrk({
    baseUrl: v.baseUrl,
    host: v.host,
    load: loadFor(s, v),
    headers: s.headers,
    connections: s.connections,
    threads: opts.threads,
    durationS: roundsOf(s, opts).durationS,
    timeoutS: 5,
    workDir,
    tag: `${v.spec.id}-r${round}`,
  });
  const after = members.map((m) => cpuSeconds(m.pid));
  const machine1 = machineCpu();
  const busy = machine1.busy - machine0.busy;
  const softirqS = machine1.softirq - machine0.softirq;
  const selfUs = process.cpuUsage(self0);
  const cpuS: Record<string, number> & { total: number } = { total: 0 };
  members.forEach((m, i) => {
    const d = after[i]! - before[i]!;
    cpuS[m.role] = (cpuS[m.role] ?? 0) + d;
    cpuS.total += d;
  });
  const rss: { worker: number[]; supervisor?: number; dispatcher?: number; primary?: number; mongrel2?: number } = { worker: [] };
  for (const m of members) {
    const bytes = rssBytes(m.pid);
    if (m.role === 'worker') rss.worker.push(bytes);
    else rss[m.role] = bytes;
  }
  await v.check();
  return {
    variant: v.spec.id,
    round,
    wrk,
    cpuS,
    cpuMsPer1k: wrk.requests > 0 ? (cpuS.total * 1000 * 1000) / wrk.requests : Number.NaN,
    rss,
    softirqS,
    otherCpuS: Math.max(0, busy - softirqS - cpuS.total - wrk.wrkCpuS - (selfUs.user + selfUs.system) / 1e6),
  };
}

async function runScenario(s: Scenario, opts: Options, root: string): Promise<ScenarioResult> {
  const dir = path.join(root, s.name);
  mkdirSync(dir, { recursive: true });
  const specs = s.variants.filter((v) => opts.variants.length === 0 || opts.variants.includes(v.id));
  const profileDir = opts.profile ? path.join(dir, 'profiles') : undefined;
  let mongrel2: BenchMongrel2 | undefined;
  const running: RunningVariant[] = [];
  const runs: RunRecord[] = [];
  const idleRss: Record<string, number[]> = {};
  const idleRssAnon: Record<string, number[]> = {};
  const profiles: Record<string, ProfileSummary> = {};
  const served = new Map<string, number>();
  const skipped: string[] = [];
  try {
    mongrel2 = await startBenchMongrel2({ dir: path.join(dir, 'mongrel2'), hosts: specs.filter((v) => v.kind !== 'static' && v.kind !== 'node-http').map(hostOf), staticFiles: s.staticFiles, ...(s.protocol === undefined ? {} : { protocol: s.protocol }) });
    for (const spec of specs) {
      try {
        running.push(await startVariant(spec, { dir, mongrel2, app: s.app, poolArgs: opts.poolArgs, profileDir }));
      } catch (err) {
        if (!(err instanceof SkippedVariant)) throw err;
        skipped.push(`${s.name}: variant ${spec.id} skipped: ${err.message}`);
        process.stderr.write(`bench: ${skipped.at(-1)}\n`);
      }
    }
    await sleep(opts.quick ? 1_000 : 2_000);
    for (const v of running) {
      const workers = v.members().filter((m) => m.role === 'worker');
      idleRss[v.spec.id] = workers.map((m) => rssBytes(m.pid));
      idleRssAnon[v.spec.id] = workers.map((m) => rssAnonBytes(m.pid));
    }
    const { rounds } = roundsOf(s, opts);
    for (let round = 0; round < rounds; round++) {
      const order = running.map((_, i) => running[(i + round) % running.length]!);
      for (const v of order) {
        if (opts.quietWaitS > 0) await waitForQuiet(opts.quietWaitS * 1000);
        const warm = round === 0 ? opts.firstWarmupS : opts.warmupS;
        if (warm > 0) {
          const w = await runWrk({ baseUrl: v.baseUrl, host: v.host, load: loadFor(s, v), headers: s.headers, connections: s.connections, threads: opts.threads, durationS: warm, timeoutS: 5, workDir: dir, tag: `${v.spec.id}-warm${round}` });
          served.set(v.spec.id, (served.get(v.spec.id) ?? 0) + w.requests);
        }
        const rec = await measure(s, v, opts, dir, round);
        runs.push(rec);
        served.set(v.spec.id, (served.get(v.spec.id) ?? 0) + rec.wrk.requests);
        process.stdout.write(`[${s.name} ${round + 1}/${rounds}] ${v.spec.id.padEnd(17)} ${fmtRun(rec)}\n`);
      }
    }
  } finally {
    // Profiles of the workers under the variant's id, of the dispatcher (or hop) under `<id>/dispatcher`.
    const pidsOf = new Map<string, number[]>();
    for (const v of running) {
      pidsOf.set(v.spec.id, v.members().filter((m) => m.role === 'worker').map((m) => m.pid));
      const hop = v.members().filter((m) => m.role === 'dispatcher').map((m) => m.pid);
      if (hop.length > 0) pidsOf.set(`${v.spec.id}/dispatcher`, hop);
    }
    await Promise.all(running.map((v) => v.stop()));
    await mongrel2?.stop();
    if (profileDir !== undefined) {
      for (const [id, pids] of pidsOf) {
        const variantId = id.split('/')[0] ?? id;
        const files = profilesOf(path.join(profileDir, variantId), pids);
        if (files.length > 0) profiles[id] = summarizeProfiles(files, served.get(variantId) ?? 0);
      }
    }
  }
  return {
    name: s.name,
    title: s.title,
    connections: s.connections,
    load: s.load,
    staticLoad: s.staticLoad,
    app: path.relative(REPO_ROOT, appModule(s.app)),
    variants: specs.filter((v) => running.some((r) => r.spec.id === v.id)),
    skipped,
    idleRss,
    idleRssAnon,
    runs,
    profiles: opts.profile ? profiles : undefined,
  };
}

function printSummary(report: BenchReport): void {
  process.stdout.write(`\n${markdown(report)}`);
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = readOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const all = scenarios(opts.workers).map((s) => withX(s, opts.x));
  for (const s of all) ALL_NAMES.add(s.name);
  if (opts.list) {
    for (const s of all) process.stdout.write(`${s.name.padEnd(12)} ${s.quick ? '[quick] ' : s.full === false ? '[--only] ' : '        '}${s.title}; variants: ${s.variants.map((v) => v.id).join(', ')}\n`);
    process.stdout.write(`${'codec'.padEnd(12)} [quick] parser and reply-writer micro benchmarks, and the worker pipeline without ZeroMQ\n`);
    process.stdout.write(`${'autoscale-step'.padEnd(12)} a load step on /slow: time to the needed size and p99, autoscaling on versus fixed pools at min and max\n`);
    process.stdout.write(`${'idle-rss'.padEnd(12)} an idle forked m2pool worker's RSS against a bare forked node that loaded zeromq (test/bench/idle-rss.ts)\n`);
    process.stdout.write(`${'fanout'.padEnd(12)} one broadcast to 1,000 WebSocket members: time to the last member (p50/p99), deliveries/s, CPU per delivery against one request\n`);
    return 0;
  }
  const wrk = wrkVersion();
  if (wrk === undefined) {
    process.stderr.write(`bench: ${WRK_HINT}\n`);
    return 1;
  }
  if (sh('sh', ['-c', 'command -v mongrel2 && command -v m2sh']) === undefined) {
    process.stderr.write('bench: Mongrel2 is not installed: apt-get install mongrel2-core\n');
    return 1;
  }
  for (const file of ['dist/test/bench/floor-handler.js', 'dist/test/bench/http-server.js', 'dist/test/bench/bench-app.js', 'dist/src/cli/main.js', 'dist/examples/hello/index.js']) {
    if (!existsSync(path.join(REPO_ROOT, file))) {
      process.stderr.write(`bench: ${file} is missing: build first (npm run bench builds)\n`);
      return 1;
    }
  }
  const chosen = all.filter((s) => selected(s.name, opts, s.quick, s.full ?? true));
  const runCodec = selected('codec', opts, true);
  const runAutoscale = selected('autoscale-step', opts, false);
  const runFanoutScenario = selected('fanout', opts, false);
  const runIdle = selected('idle-rss', opts, false);
  if (chosen.length === 0 && !runCodec && !runAutoscale && !runFanoutScenario && !runIdle) {
    process.stderr.write(`bench: --only ${opts.only.join(',')} matches nothing; --list shows the scenarios\n`);
    return 2;
  }
  const machine = machineInfo(wrk);
  const maxConnections = Math.max(0, ...chosen.map((s) => s.connections));
  const ulimit = Number(machine.ulimitN);
  const notes: string[] = [
    'm2pool-defaults: `m2pool start` with no tuning flag (request log and metrics at their defaults). m2pool / m2pool-nometrics: request log off in the workers (--request-log-level debug with --log-level info). Mongrel2 access log off (disable.access_logging) for every variant.',
    'CPU ms / 1k req = CPU time (utime+stime from /proc/<pid>/stat) of every process of the variant during the measured window (Mongrel2 + supervisor + workers for a; Mongrel2 + handlers for b; Mongrel2 for c; cluster primary + workers for d) per 1000 requests. wrk runs on the same CPUs (1 thread by default).',
    'RSS = VmRSS from /proc/<pid>/status: idle right after start (before any load), loaded right after a measured run (largest worker; medians over rounds).',
    'softirq = machine-wide softirq CPU seconds in the window (loopback TCP processing for wrk and the server; charged to no process, so not in CPU / 1k req). other load = busy CPU seconds of the machine in the window that were neither the variant, wrk, this bench, nor softirq: other jobs on the machine (and the idle variants).',
    'errors = wrk socket errors (connect/read/write) + HTTP status ≥ 400 + timeouts (5 s), summed over all rounds.',
  ];
  if (Number.isFinite(ulimit) && ulimit < maxConnections * 2 + 256) {
    notes.push(`ulimit -n is ${ulimit}: ${maxConnections} connections may run out of file descriptors (raise it: ulimit -n 65536).`);
    process.stderr.write(`bench: warning: ${notes.at(-1)}\n`);
  }
  const root = mkdtempSync(path.join(os.tmpdir(), 'm2pool-bench-'));
  installCleanup(async () => {
    if (!opts.keepTmp) rmSync(root, { recursive: true, force: true });
  });
  const startedAt = new Date();
  process.stdout.write(`m2pool bench: ${chosen.map((s) => s.name).join(', ')}${runCodec ? `${chosen.length > 0 ? ', ' : ''}codec` : ''}; ${opts.rounds} round(s) × ${opts.durationS} s${chosen.some((c) => c.rounds !== undefined) && !(opts.roundsGiven && opts.durationGiven) ? ' (parts*: their own, see --help)' : ''}; ${machine.nproc} CPUs (${machine.cpuModel}), node ${machine.node}, ${machine.mongrel2}, ${wrk}; temp ${root}\n`);
  if (opts.profile) notes.push('PROFILED RUN (V8 CPU profiler in every Node process): timings are not representative.');
  if (opts.poolArgs.length > 0) notes.push(`m2pool started with extra flags: ${opts.poolArgs.join(' ')}`);
  if (opts.x !== undefined) notes.push(`m2pool-x = m2pool${opts.x.root === undefined ? '' : ` from ${opts.x.root}`}${opts.x.args.length > 0 ? ` with ${opts.x.args.join(' ')}` : ''}`);

  let codec: CodecResult[] = [];
  let pipeline: PipelineResult[] = [];
  if (runCodec) {
    process.stdout.write('codec micro benchmarks...\n');
    codec = runCodecBench(opts.quick ? 200 : 500, opts.quick ? 1 : 3);
    for (const c of codec) process.stdout.write(`  ${c.name.padEnd(62)} ${Math.round(c.opsPerSec).toLocaleString('en-US').padStart(12)} ops/s ${Math.round(c.nsPerOp).toString().padStart(7)} ns/op\n`);
    process.stdout.write('worker pipeline without ZeroMQ...\n');
    pipeline = await runPipelineBench(opts.quick ? 20_000 : 50_000, opts.quick ? 1 : 3);
    for (const p of pipeline) process.stdout.write(`  ${p.name.padEnd(62)} ${Math.round(p.requestsPerSec).toLocaleString('en-US').padStart(12)} req/CPU-s ${p.usPerRequest.toFixed(2).padStart(7)} CPU µs/req\n`);
  }
  const results: BenchReport['scenarios'][number][] = [];
  for (const s of chosen) {
    process.stdout.write(`\n== ${s.name}: ${s.title}; ${s.connections} connections\n`);
    try {
      const r = await runScenario(s, opts, root);
      notes.push(...(r.skipped ?? []));
      const summary = summarize(r);
      results.push({ ...r, summary, ratios: ratios(r.name, summary) });
      for (const x of results.at(-1)!.ratios) process.stdout.write(`   ${x.pair.padEnd(30)} throughput ${x.throughput.toFixed(3)}  p99 ${x.p99.toFixed(3)}  CPU/1k ${x.cpuPer1k.toFixed(3)}  worker CPU/req ${x.workerCpu.toFixed(3)}\n`);
    } catch (err) {
      const msg = `${s.name} failed: ${err instanceof Error ? err.message : String(err)}`;
      notes.push(msg.split('\n')[0] ?? msg);
      process.stderr.write(`bench: ${msg}\n`);
      await stopAll(3_000);
    }
  }
  let autoscale: AutoscaleStepReport | null = null;
  if (runAutoscale) {
    process.stdout.write('\n== autoscale-step: a load step against the autoscaler, then fixed pools at min and max\n');
    try {
      autoscale = await runAutoscaleStep(AUTOSCALE_STEP_DEFAULTS, (line) => process.stdout.write(`   ${line}\n`));
    } catch (err) {
      const msg = `autoscale-step failed: ${err instanceof Error ? err.message : String(err)}`;
      notes.push(msg.split('\n')[0] ?? msg);
      process.stderr.write(`bench: ${msg}\n`);
      await stopAll(3_000);
    }
  }
  let fanout: FanoutReport | null = null;
  if (runFanoutScenario) {
    process.stdout.write('\n== fanout: one broadcast to 1,000 WebSocket members\n');
    try {
      fanout = await runFanout(FANOUT_DEFAULTS, (line) => process.stdout.write(`   ${line}\n`));
    } catch (err) {
      const msg = `fanout failed: ${err instanceof Error ? err.message : String(err)}`;
      notes.push(msg.split('\n')[0] ?? msg);
      process.stderr.write(`bench: ${msg}\n`);
      await stopAll(3_000);
    }
  }
  let idleRss: IdleRssResult | null = null;
  if (runIdle) {
    process.stdout.write('\n== idle-rss: an idle m2pool worker against a bare node + zeromq + IPC process\n');
    try {
      idleRss = await runIdleRss(opts.quick ? 1 : 5, 1_500);
      process.stdout.write(`   baseline ${(idleRss.baseline.rss / 2 ** 20).toFixed(1)} MiB, worker ${(idleRss.worker.rss / 2 ** 20).toFixed(1)} MiB: +${((idleRss.worker.rss - idleRss.baseline.rss) / 2 ** 20).toFixed(1)} MiB\n`);
    } catch (err) {
      const msg = `idle-rss failed: ${err instanceof Error ? err.message : String(err)}`;
      notes.push(msg.split('\n')[0] ?? msg);
      process.stderr.write(`bench: ${msg}\n`);
    }
  }
  const finishedAt = new Date();
  const date = startedAt.toISOString().slice(0, 10);
  const args = process.argv.slice(2);
  const report: BenchReport = {
    meta: {
      date,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      totalS: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      command: `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
      machine,
      options: {
        rounds: opts.rounds,
        durationS: opts.durationS,
        warmupS: opts.warmupS,
        firstWarmupS: opts.firstWarmupS,
        workers: opts.workers,
        threads: opts.threads,
        quietWaitS: opts.quietWaitS,
        quick: opts.quick,
        only: opts.only,
        variants: opts.variants,
        profile: opts.profile,
        poolArgs: opts.poolArgs,
        x: opts.x ?? null,
        staticHost: STATIC_HOST,
      },
      notes,
    },
    codec,
    pipeline,
    scenarios: results,
    autoscale,
    fanout,
    idleRss,
    targets: targets(results, idleRss),
  };
  const outDir = opts.out ?? (opts.canonical ? path.join(REPO_ROOT, 'test/bench/results') : path.join(os.tmpdir(), 'm2pool-bench'));
  mkdirSync(outDir, { recursive: true });
  const tag = opts.canonical ? '' : `-${opts.quick ? 'quick' : opts.profile ? 'profile' : 'partial'}-${startedAt.toISOString().slice(11, 19).replace(/:/g, '')}`;
  const base = path.join(outDir, `${date}-${machineSlug(machine)}${tag}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 1)}\n`);
  writeFileSync(`${base}.md`, markdown(report));
  printSummary(report);
  process.stdout.write(`results: ${base}.json\n         ${base}.md\n`);
  if (opts.keepTmp) process.stdout.write(`temp dir kept: ${root}\n`);
  else rmSync(root, { recursive: true, force: true });
  return results.length === chosen.length && (!runAutoscale || autoscale !== null) && (!runFanoutScenario || fanout !== null) && (!runIdle || idleRss !== null) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAll(3_000);
    process.exit(1);
  },
);
