/**
 * Before/after CPU per request of the framework (issue #21 item 10), in one process, interleaved: the worker's
 * request path without ZeroMQ (a `WorkerRuntime` on a fake link serving wrk's `GET /echo/hello`, as
 * `pipeline.ts` does) for the example app of this checkout and of another built checkout (`--base DIR`, e.g. the
 * commit before a change), plus this checkout's framework with one no-op middleware and with `asyncContext`
 * (what those cost when used). Each round runs every case once in a rotated order; medians of the rounds; process
 * CPU time (user + system), which does not grow when other jobs share the machine the way wall time does.
 *
 *   node dist/test/bench/framework-ab.js --base /tmp/m2pool-base [--n 20000] [--rounds 15]
 *
 * Not part of `npm run bench` (it needs a second build); `--base` must hold `dist/` built from the same tree layout.
 */
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

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { base: { type: 'string' }, n: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '15' } } });
  if (values.base === undefined) throw new Error('usage: framework-ab --base DIR [--n N] [--rounds R]');
  const n = Number(values.n);
  const rounds = Number(values.rounds);
  const base = load(path.resolve(values.base));
  const head = load(REPO_ROOT);
  const echo = (build: Build, setup: (app: AppLike) => void, options?: Record<string, unknown>): AppLike => {
    const app = new build.App(options).get('/echo/*', (ctx) => ctx.req.path);
    setup(app);
    return app;
  };
  const none = (): void => undefined;
  const cases: Array<[string, Build, AppLike]> = [
    ['base: examples/hello', base, base.exampleApp],
    ['head: examples/hello', head, head.exampleApp],
    ['head: /echo with one no-op app.use', head, echo(head, (a) => a.use?.((_c, next) => next()))],
    ['head: /echo with asyncContext', head, echo(head, none, { asyncContext: true })],
  ];
  const frames = Array.from({ length: 50 }, (_, i) => echoRequest(i + 1));
  // asyncContext turns on promise hooks for the whole process once entered (see log/request-context.ts): run it
  // last in every round would still tax the others after round 1, so it gets its own pass after the others.
  const main3 = cases.slice(0, 3);
  for (const [, build, app] of main3) await run(build, app, frames, n); // warm-up
  const samples = main3.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < main3.length; k++) {
      const i = (k + r) % main3.length;
      const [, build, app] = main3[i]!;
      samples[i]!.push(await run(build, app, frames, n));
    }
  }
  const asyncCase = cases[3]!;
  const asyncSamples: number[] = [];
  const afterSamples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    asyncSamples.push(await run(asyncCase[1], asyncCase[2], frames, n));
    afterSamples.push(await run(head, head.exampleApp, frames, n));
  }
  const baseUs = median(samples[0]!);
  const lines = [`framework A/B: ${rounds} rounds × ${n} requests, GET /echo/hello through WorkerRuntime (fake link), CPU µs per request (median)`];
  for (const [i, [name]] of main3.entries()) lines.push(`  ${name.padEnd(44)} ${median(samples[i]!).toFixed(2)} µs   ratio to base ${(median(samples[i]!) / baseUs).toFixed(3)}`);
  lines.push(`  ${asyncCase[0].padEnd(44)} ${median(asyncSamples).toFixed(2)} µs   ratio to base ${(median(asyncSamples) / baseUs).toFixed(3)}`);
  lines.push(`  ${'head: examples/hello once ALS was entered'.padEnd(44)} ${median(afterSamples).toFixed(2)} µs   ratio to base ${(median(afterSamples) / baseUs).toFixed(3)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
