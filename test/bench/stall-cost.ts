/**
 * Measures what a stalled worker costs in the direct topology (issue 11, finding 5): one ready worker of four is
 * stopped with SIGSTOP under load (its event loop and its ZeroMQ I/O thread freeze, as on a long GC pause, a
 * swapped-out page or a handler spinning on the CPU); the supervisor notices the missing heartbeats and SIGKILLs
 * it after `heartbeatTimeoutMs`. Reported per heartbeat timeout: time from SIGSTOP to the kill, requests lost
 * (unanswered within 2 s, blamed on the stall when sent from 2 s before the stop to 2 s after the pool is back
 * to 4 ready), and the throughput during the stall against the 2 s before it.
 *
 *   npm run build && node dist/test/bench/stall-cost.js [--timeouts 30000,3000] [--rounds 3] [--clients 28]
 *
 * Setup: a real Mongrel2 (ipc), `m2pool start` with 4 workers of `examples/hello`, heartbeat interval 1 s.
 * @module
 */
import { parseArgs } from 'node:util';
import { rawRequest } from '../helpers/http-client';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { CLI, HELLO_APP, spawnNode } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';
import { startClosedLoop } from './closed-loop';

const ANSWER_WITHIN_MS = 2_000;
const BEFORE_MS = 2_000;

interface PoolDoc {
  ready: number;
  booting: number;
  draining: number;
  workers: Array<{ pid: number; state: string; slot: number; restarts: number }>;
}

interface Round {
  killAfterMs: number;
  lost: number;
  /** Answers per second during the stall / in the 2 s before. */
  throughputRatio: number;
}

async function measure(timeoutMs: number, rounds: number, clients: number): Promise<Round[]> {
  const m2 = await startTestMongrel2({ transport: 'ipc' });
  const adminPort = await freePort();
  const pool = spawnNode([
    CLI, 'start', '--app', HELLO_APP, '--workers', '4', ...m2.workerArgs(), '--admin', `127.0.0.1:${adminPort}`,
    '--heartbeat-interval-ms', '1000', '--heartbeat-timeout-ms', String(timeoutMs), '--log-level', 'warn', '--request-log-level', 'warn',
  ]);
  const poolDoc = async (): Promise<PoolDoc> => JSON.parse((await rawRequest(adminPort, { method: 'GET', path: '/pool' })).body.toString()) as PoolDoc;
  const fullyReady = async (): Promise<boolean> => {
    const d = await poolDoc();
    return d.ready === 4 && d.booting === 0 && d.draining === 0;
  };
  const out: Round[] = [];
  const loop = { stop: async (): Promise<void> => undefined };
  try {
    await waitFor(fullyReady, { timeoutMs: 60_000, what: '4 ready workers' });
    const clientLoop = startClosedLoop(m2.port, clients, ANSWER_WITHIN_MS);
    loop.stop = () => clientLoop.stop();
    const warm = Date.now() + 3_000;
    await waitFor(() => Date.now() > warm, { intervalMs: 100, timeoutMs: 5_000 });
    for (let r = 0; r < rounds; r += 1) {
      const victim = (await poolDoc()).workers.filter((w) => w.state === 'ready').sort((a, b) => a.restarts - b.restarts)[0];
      if (victim === undefined) throw new Error('no ready worker to stop');
      const stoppedAt = Date.now();
      process.kill(victim.pid, 'SIGSTOP');
      await waitFor(async () => !(await poolDoc()).workers.some((w) => w.pid === victim.pid), { timeoutMs: timeoutMs + 30_000, intervalMs: 20, what: 'the stopped worker to be killed' });
      const killedAt = Date.now();
      await waitFor(fullyReady, { timeoutMs: 60_000, what: 'the replacement' });
      const end = Date.now() + ANSWER_WITHIN_MS;
      await waitFor(() => Date.now() > end, { intervalMs: 50, timeoutMs: 5_000 });
      const lost = clientLoop.lostAt.filter((t) => t >= stoppedAt - ANSWER_WITHIN_MS && t <= end).length;
      const rate = (from: number, to: number): number => clientLoop.answeredAt.filter((t) => t >= from && t < to).length / Math.max(1, to - from);
      out.push({ killAfterMs: killedAt - stoppedAt, lost, throughputRatio: rate(stoppedAt, killedAt) / rate(stoppedAt - BEFORE_MS, stoppedAt) });
      const settle = Date.now() + 3_000;
      await waitFor(() => Date.now() > settle, { intervalMs: 100, timeoutMs: 5_000 });
    }
    return out;
  } finally {
    await loop.stop();
    await pool.stop();
    await m2.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { timeouts: { type: 'string', default: '30000,3000' }, rounds: { type: 'string', default: '3' }, clients: { type: 'string', default: '28' } } });
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  for (const timeout of values.timeouts.split(',').map(Number)) {
    const rounds = await measure(timeout, Number(values.rounds), Number(values.clients));
    process.stdout.write(`${JSON.stringify({ heartbeatTimeoutMs: timeout, clients: Number(values.clients), rounds })}\n`);
    process.stdout.write(
      `heartbeat timeout ${timeout} ms: killed after ${rounds.map((r) => r.killAfterMs).join(', ')} ms (mean ${mean(rounds.map((r) => r.killAfterMs)).toFixed(0)}); ` +
        `lost ${rounds.map((r) => r.lost).join(', ')} (mean ${mean(rounds.map((r) => r.lost)).toFixed(1)}); throughput during the stall ` +
        `${rounds.map((r) => `${(100 * r.throughputRatio).toFixed(0)}%`).join(', ')} of before\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
