/**
 * Idle worker memory against its floor (issue: an idle worker's RSS at most 6 MiB above a bare Node process that
 * has loaded zeromq and opened its IPC channel). Not a test.
 *
 *   npx tsc -p . && node dist/test/bench/idle-rss.js [--rounds 5] [--settle-ms 1500] [--app examples/hello]
 *
 * Starts a real Mongrel2, then per round, one after the other: the baseline (`idle-baseline.ts`, forked: zeromq
 * loaded, IPC channel open) and `m2pool worker` forked the way a supervisor forks it (IPC channel, direct
 * topology, connected to Mongrel2, ready). Each is measured `settle-ms` after it said it was ready (VmRSS and
 * RssAnon from /proc), then stopped. Prints the medians and the difference. `--list-modules` also prints the
 * worker's loaded modules by size class (what to make lazy). `npm run bench` runs it too ({@link runIdleRss}) and
 * puts the difference in its targets table.
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { CLI, HELLO_APP, REPO_ROOT } from '../helpers/processes';
import { rssAnonBytes, rssBytes } from './procstat';

const BASELINE = path.join(REPO_ROOT, 'dist/test/bench/idle-baseline.js');
const MIB = 1024 * 1024;

interface Sample {
  readonly rss: number;
  readonly anon: number;
}

function waitForMessage(child: ChildProcess, type: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms`)), timeoutMs);
    child.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${String(code)}) before ${type}`));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function measure(child: ChildProcess, ready: string, settleMs: number): Promise<Sample> {
  try {
    await waitForMessage(child, ready, 20_000);
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const pid = child.pid ?? 0;
    return { rss: rssBytes(pid), anon: rssAnonBytes(pid) };
  } finally {
    await stop(child);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const mib = (bytes: number): string => (bytes / MIB).toFixed(1);

/** Medians of the idle baseline and the idle worker, bytes. */
export interface IdleRssResult {
  readonly rounds: number;
  readonly settleMs: number;
  readonly app: string;
  readonly baseline: { readonly rss: number; readonly anon: number };
  readonly worker: { readonly rss: number; readonly anon: number };
  readonly baselineRounds: readonly number[];
  readonly workerRounds: readonly number[];
}

/** Measure `rounds` times, one process after the other, and return the medians. */
export async function runIdleRss(rounds: number, settleMs: number, app: string = HELLO_APP): Promise<IdleRssResult> {
  const m2 = await startTestMongrel2();
  const base: Sample[] = [];
  const worker: Sample[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      base.push(await measure(fork(BASELINE, [], { stdio: 'ignore' }), 'baseline.ready', settleMs));
      const args = ['worker', '--app', app, ...m2.workerArgs(0), '--log-level', 'warn'];
      worker.push(await measure(fork(CLI, args, { stdio: 'ignore', cwd: REPO_ROOT }), 'm2pool:ready', settleMs));
    }
  } finally {
    await m2.stop();
  }
  return {
    rounds,
    settleMs,
    app,
    baseline: { rss: median(base.map((s) => s.rss)), anon: median(base.map((s) => s.anon)) },
    worker: { rss: median(worker.map((s) => s.rss)), anon: median(worker.map((s) => s.anon)) },
    baselineRounds: base.map((s) => s.rss),
    workerRounds: worker.map((s) => s.rss),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      'settle-ms': { type: 'string', default: '1500' },
      app: { type: 'string', default: HELLO_APP },
    },
  });
  const rounds = Number(values.rounds);
  const settleMs = Number(values['settle-ms']);
  const app = path.resolve(values.app);
  const r = await runIdleRss(rounds, settleMs, app);
  const b = r.baseline;
  const w = r.worker;
  const base = r.baselineRounds.map((rss) => ({ rss }));
  const worker = r.workerRounds.map((rss) => ({ rss }));
  process.stdout.write(
    `idle RSS, medians of ${rounds} rounds (${settleMs} ms after ready), app ${path.relative(REPO_ROOT, app)}\n` +
      `  baseline (node + zeromq + IPC channel): ${mib(b.rss)} MiB (anon ${mib(b.anon)})  rounds: ${base.map((s) => mib(s.rss)).join(' ')}\n` +
      `  m2pool worker, idle:                    ${mib(w.rss)} MiB (anon ${mib(w.anon)})  rounds: ${worker.map((s) => mib(s.rss)).join(' ')}\n` +
      `  worker - baseline:                      ${mib(w.rss - b.rss)} MiB (anon ${mib(w.anon - b.anon)}); target ≤ 6.0 MiB\n`,
  );
}

if (require.main === module) {
  void main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
