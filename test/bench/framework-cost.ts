/**
 * What the framework features of issue 21 cost a route that uses none of them: the same plain routes (a string
 * return, a JSON return, a 404) dispatched in process through builds of m2pool given on the command line. Each
 * round runs every build in a fresh child process (rotated order), which warms up, then measures the CPU time
 * (user + system, `process.cpuUsage`: less swayed by other load on a shared machine than wall time) of N requests;
 * reports each build's median CPU ns per request and its ratio to the first build (the baseline), all measured in
 * the same run.
 *
 *   npm run build && node dist/test/bench/framework-cost.js [--rounds 7] [--requests 200000] <baseline dist/src> [other dist/src …]
 *
 * With no build given it measures only this one (dist/src of this checkout).
 * @module
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

interface Build {
  readonly run: (n: number) => Promise<number>;
}

/** The sink of an in-process request: accepts every write at once. */
class NullSink {
  bytes = 0;
  write(data: Buffer): Promise<void> {
    this.bytes += data.length;
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function load(dir: string): Build {
  // NOTE: each build is a separate copy of m2pool's compiled source, loaded by absolute path.
  const { App } = require(path.join(dir, 'app', 'app.js')) as typeof import('../../src/app/app');
  const { buildRawMessage } = require(path.join(dir, 'app', 'testing', 'testing.js')) as typeof import('../../src/app/testing/testing');
  const app = new App();
  app.get('/text', () => 'hello\n');
  app.get('/json/:id', (ctx) => ({ id: ctx.params['id'] }));
  const msgs = [buildRawMessage('/text'), buildRawMessage('/json/42'), buildRawMessage('/missing')];
  const sink = new NullSink();
  return {
    async run(n: number): Promise<number> {
      const started = process.cpuUsage();
      for (let i = 0; i < n; i++) await app.dispatch(msgs[i % 3]!, sink);
      const used = process.cpuUsage(started);
      return ((used.user + used.system) * 1e3) / n;
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string, def: number): number => {
    const i = args.indexOf(`--${name}`);
    if (i === -1) return def;
    const v = Number(args[i + 1]);
    args.splice(i, 2);
    return v;
  };
  const rounds = flag('rounds', 7);
  const requests = flag('requests', 200_000);
  const childDir = process.env['FRAMEWORK_COST_CHILD'];
  if (childDir !== undefined) {
    const build = load(childDir);
    await build.run(Math.min(requests, 50_000)); // warm-up: JIT and caches
    process.stdout.write(String(await build.run(requests)));
    return;
  }
  const dirs = args.length > 0 ? args.map((a) => path.resolve(a)) : [path.resolve(__dirname, '..', '..', 'src')];
  const samples = dirs.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < dirs.length; k++) {
      const i = (r + k) % dirs.length;
      const out = execFileSync(process.execPath, [__filename, '--requests', String(requests)], { env: { ...process.env, FRAMEWORK_COST_CHILD: dirs[i] } });
      samples[i]!.push(Number(out.toString()));
    }
  }
  const base = median(samples[0]!);
  for (let i = 0; i < dirs.length; i++) {
    const m = median(samples[i]!);
    process.stdout.write(`${dirs[i]}: ${m.toFixed(0)} CPU ns/request (median of ${rounds}), ratio to baseline ${(m / base).toFixed(3)}\n`);
  }
}

void main();
