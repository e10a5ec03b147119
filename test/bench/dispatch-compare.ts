/**
 * Dispatch vs direct, same run, interleaved: two Mongrel2 servers (one per topology, each with 2 workers of
 * examples/hello), wrk on `/echo/x` against one at a time, alternating. Reports throughput and latency of each
 * round, and the dispatcher's CPU per request (its /proc/<pid>/stat utime+stime over the round, divided by the
 * requests wrk completed).
 *   npm run build && node dist/test/bench/dispatch-compare.js [--rounds 3] [--duration 5] [--connections 24]
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startTestDispatcher } from '../helpers/dispatcher';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { HELLO_APP, startWorker, type TestProcess } from '../helpers/processes';
import { cpuSeconds } from './procstat';
import { runWrk, type WrkResult } from './wrk';

const QUIET = ['--request-log-level', 'debug'];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, duration: { type: 'string' }, connections: { type: 'string' }, workers: { type: 'string' } } });
  const rounds = Number(values.rounds ?? 3);
  const durationS = Number(values.duration ?? 5);
  const connections = Number(values.connections ?? 24);
  const workerCount = Number(values.workers ?? 2);
  const workDir = await mkdtemp(path.join(tmpdir(), 'm2p-dcmp-'));
  const procs: TestProcess[] = [];
  const direct = await startTestMongrel2();
  const dispatch = await startTestMongrel2();
  try {
    for (let i = 0; i < workerCount; i += 1) procs.push(await startWorker(HELLO_APP, direct.workerArgs(), QUIET));
    const dispatcher = await startTestDispatcher(dispatch);
    procs.push(dispatcher.proc);
    for (let i = 0; i < workerCount; i += 1) procs.push(await dispatcher.worker(HELLO_APP, QUIET));
    const run = (baseUrl: string, tag: string): Promise<WrkResult> =>
      runWrk({ baseUrl, load: { path: '/echo/x' }, connections, threads: 2, durationS, timeoutS: 5, workDir, tag });
    // Warm-up of both (JIT), not reported.
    await run(direct.baseUrl, 'warm-direct');
    await run(dispatch.baseUrl, 'warm-dispatch');
    const rows: string[] = [];
    const totals = { direct: 0, dispatch: 0, cpu: 0, requests: 0 };
    for (let r = 0; r < rounds; r += 1) {
      const d = await run(direct.baseUrl, `direct-${r}`);
      const cpuBefore = cpuSeconds(dispatcher.proc.pid);
      const x = await run(dispatch.baseUrl, `dispatch-${r}`);
      const cpu = cpuSeconds(dispatcher.proc.pid) - cpuBefore;
      totals.direct += d.rps;
      totals.dispatch += x.rps;
      totals.cpu += cpu;
      totals.requests += x.requests;
      rows.push(
        `round ${r}: direct ${Math.round(d.rps)} req/s p99 ${(d.latencyUs.p99 / 1000).toFixed(2)} ms | dispatch ${Math.round(x.rps)} req/s p99 ${(x.latencyUs.p99 / 1000).toFixed(2)} ms` +
          ` | ratio ${(x.rps / d.rps).toFixed(2)} | dispatcher CPU ${((cpu * 1e6) / x.requests).toFixed(1)} µs/req | errors ${d.errors.total}/${x.errors.total}`,
      );
      process.stdout.write(`${rows.at(-1)}\n`);
    }
    process.stdout.write(
      `\n${workerCount} workers, ${connections} connections, ${rounds} × ${durationS} s each: dispatch/direct throughput ${(totals.dispatch / totals.direct).toFixed(2)}, ` +
        `dispatcher CPU ${((totals.cpu * 1e6) / totals.requests).toFixed(1)} µs per request over ${totals.requests} requests\n`,
    );
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await direct.stop();
    await dispatch.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
