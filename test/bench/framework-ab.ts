/**
 * Before/after CPU per request of the framework (issue #21 item 10), in one process, interleaved: the worker's
 * request path without ZeroMQ (a `WorkerRuntime` on a fake link serving wrk's `GET /echo/hello`, as
 * `pipeline.ts` does) for the example app of this checkout and of another built checkout (`--base DIR`, e.g. the
 * commit before a change), plus this checkout's framework with one no-op middleware (what middleware costs when
 * used). Each round runs every case once in a rotated order; the report gives medians and the median of per-round
 * ratios; process CPU time (user + system). `asyncContext` runs in child processes (once entered, an
 * AsyncLocalStorage taxes every later promise of its process), in pairs against the same app without it.
 *
 *   node dist/test/bench/framework-ab.js --base /tmp/m2pool-base [--n 10000] [--rounds 31]
 *
 * Not part of `npm run bench` (it needs a second build); `--base` must hold `dist/` built from the same tree layout.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../helpers/processes';
import { echoRequest } from './pipeline';

/** The parts of a checkout the bench drives (loaded by path, so two builds can run side by side). */
interface Build {
  readonly WorkerRuntime: new (options: Record<string, unknown>) => { start(): void; stop(ms: number): Promise<void> };
  readonly FakeLink: new (options: Record<string, unknown>) => unknown;
  readonly FakeTransport: new (links: unknown[]) => unknown;
  readonly App: new (options?: Record<string, unknown>) => AppLike;
  readonly exampleApp: AppLike;
}

interface AppLike {
  get(pattern: string, fn: (ctx: { req: { path: string } }) => unknown): AppLike;
  use?(mw: (ctx: unknown, next: () => Promise<unknown>) => unknown): AppLike;
}

function load(root: string): Build {
  // NOTE: require by absolute path: each checkout's dist is its own module tree, so both builds load side by side.
  const req = (p: string): Record<string, unknown> => require(path.join(root, p)) as Record<string, unknown>;
  return {
    WorkerRuntime: req('dist/src/worker/runtime.js')['WorkerRuntime'] as Build['WorkerRuntime'],
    FakeLink: req('dist/test/helpers/fake-link.js')['FakeLink'] as Build['FakeLink'],
    FakeTransport: req('dist/test/helpers/fake-link.js')['FakeTransport'] as Build['FakeTransport'],
    App: req('dist/src/app/app.js')['App'] as Build['App'],
    exampleApp: req('dist/examples/hello/index.js')['app'] as AppLike,
  };
}

/** Serve `n` requests through a fresh WorkerRuntime of `build` with `app`; returns the CPU µs per request. */
async function run(build: Build, app: AppLike, frames: readonly Buffer[], n: number): Promise<number> {
  const { pino } = require(path.join(REPO_ROOT, 'node_modules/pino')) as typeof import('pino');
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let left = n;
  let sent = 0;
  const link = new build.FakeLink({
    record: false,
    source: () => (left === 0 ? null : frames[--left % frames.length]!),
    onSend: () => {
      if (++sent === n) done();
      return Promise.resolve();
    },
  });
  const runtime = new build.WorkerRuntime({
    transport: new build.FakeTransport([link]),
    app,
    logger: pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true })),
    maxInFlight: 64,
    maxUploadBytes: 1 << 20,
    requestLogLevel: 'debug',
    lingerMs: 0,
    metrics: undefined,
  });
  const t0 = process.cpuUsage();
  runtime.start();
  await finished;
  const d = process.cpuUsage(t0);
  await runtime.stop(0);
  return (d.user + d.system) / n;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** One case in a fresh child process (for asyncContext, which taxes every later promise of its process). */
function child(caseName: string, n: number): number {
  const out = spawnSync(process.execPath, [__filename, '--child', caseName, '--n', String(n)], { encoding: 'utf8' });
  const us = Number(out.stdout.trim());
  if (!Number.isFinite(us)) throw new Error(`child ${caseName} failed: ${out.stderr}`);
  return us;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { base: { type: 'string' }, n: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '31' }, child: { type: 'string' } } });
  const n = Number(values.n);
  const head = load(REPO_ROOT);
  const frames = Array.from({ length: 50 }, (_, i) => echoRequest(i + 1));
  const echo = (options?: Record<string, unknown>): AppLike => new head.App(options).get('/echo/*', (ctx) => ctx.req.path);
  if (values.child !== undefined) {
    const app = values.child === 'async' ? echo({ asyncContext: true }) : echo();
    await run(head, app, frames, n); // warm-up
    process.stdout.write(`${await run(head, app, frames, n)}\n`);
    return;
  }
  if (values.base === undefined) throw new Error('usage: framework-ab --base DIR [--n N] [--rounds R]');
  const rounds = Number(values.rounds);
  const base = load(path.resolve(values.base));
  const withUse = echo();
  withUse.use?.((_c, next) => next());
  const cases: Array<[string, Build, AppLike]> = [
    ['base: examples/hello', base, base.exampleApp],
    ['head: examples/hello', head, head.exampleApp],
    ['head: /echo alone', head, echo()],
    ['head: /echo with one no-op app.use', head, withUse],
    ['head: /echo, requestIdHeader false', head, echo({ requestIdHeader: false })],
  ];
  for (const [, build, app] of cases) await run(build, app, frames, n); // warm-up
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < cases.length; k++) {
      const i = (k + r) % cases.length;
      const [, build, app] = cases[i]!;
      samples[i]!.push(await run(build, app, frames, n));
    }
  }
  // Ratios per round (runs of one round are seconds apart), then their median: robust to the machine's drift.
  const ratios = (a: number, b: number): number[] => samples[a]!.map((x, r) => x / samples[b]![r]!).sort((x, y) => x - y);
  const quartiles = (xs: number[]): string => `(quartiles ${xs[xs.length >> 2]!.toFixed(3)}–${xs[(3 * xs.length) >> 2]!.toFixed(3)})`;
  const ratio = (a: number, b: number): string => `${median(ratios(a, b)).toFixed(3)} ${quartiles(ratios(a, b))}`;
  const lines = [`framework A/B: ${rounds} interleaved rounds × ${n} requests, GET /echo/hello through WorkerRuntime (fake link); CPU µs per request (median), and the median of per-round ratios`];
  for (const [i, [name]] of cases.entries()) lines.push(`  ${name.padEnd(40)} ${median(samples[i]!).toFixed(2)} µs`);
  lines.push(`  head / base (examples/hello):             ${ratio(1, 0)}`);
  lines.push(`  one no-op app.use / none (/echo alone):   ${ratio(3, 2)}`);
  lines.push(`  /echo alone / requestIdHeader false:      ${ratio(2, 4)}`);
  const plain: number[] = [];
  const withAsync: number[] = [];
  const asyncRounds = Math.max(3, Math.floor(rounds / 3));
  for (let r = 0; r < asyncRounds; r++) {
    plain.push(child('plain', n));
    withAsync.push(child('async', n));
  }
  lines.push(`  asyncContext / none (/echo alone, ${asyncRounds} child-process pairs): ${median(withAsync.map((x, r) => x / plain[r]!)).toFixed(3)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
