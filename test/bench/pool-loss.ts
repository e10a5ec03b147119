/**
 * Measures what the direct topology loses when workers leave under load (issue #3, item 10): requests that get
 * no answer within 2 s per graceful scale-down, and per `kill -9` of a worker.
 *
 *   npm run build && node dist/test/bench/pool-loss.js [--rounds 5] [--clients 32] [--transport ipc|tcp] [--receive-hwm N]
 *
 * `--receive-hwm` is passed to the pool (default: the worker's, 16); 1 is the mitigation of docs/zeromq.md §6.1.
 *
 * Setup: a real Mongrel2, a real supervisor with 4 workers of the example app, `clients` keep-alive
 * connections each sending one request at a time. A request unanswered after 2 s is counted as lost and its
 * connection replaced. Each round: scale 4 → 3 (drain), back to 4; then kill -9 one ready worker and wait for
 * its replacement. A lost request is blamed on the latest event that happened while it was outstanding, or
 * whose window (event start → pool back to 4 ready + 2 s) it was sent in.
 */
import { parseArgs } from 'node:util';
import { rawRequest } from '../helpers/http-client';
import { startClosedLoop, type ClosedLoop } from './closed-loop';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { CLI, HELLO_APP, spawnNode } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

const ANSWER_WITHIN_MS = 2_000;

interface PoolDoc {
  ready: number;
  draining: number;
  booting: number;
  workers: Array<{ pid: number; state: string; slot: number; restarts: number }>;
}

interface Window {
  kind: 'scale-down' | 'kill-9';
  start: number;
  end: number;
  lost: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, clients: { type: 'string', default: '32' }, transport: { type: 'string', default: 'ipc' }, 'receive-hwm': { type: 'string' } } });
  const rounds = Number(values.rounds);
  const clients = Number(values.clients);
  const transport = values.transport === 'tcp' ? 'tcp' : 'ipc';
  const hwm = values['receive-hwm'] === undefined ? [] : ['--receive-hwm', values['receive-hwm']];
  const m2 = await startTestMongrel2({ transport });
  const adminPort = await freePort();
  const pool = spawnNode([CLI, 'start', '--app', HELLO_APP, '--workers', '4', ...m2.workerArgs(), '--admin', `127.0.0.1:${adminPort}`, '--request-log-level', 'debug', '--log-level', 'warn', ...hwm]);
  const admin = async (method: string, path: string, body?: string) => rawRequest(adminPort, { method, path, ...(body === undefined ? {} : { headers: [['Content-Type', 'application/json']], body }) });
  const poolDoc = async (): Promise<PoolDoc> => JSON.parse((await admin('GET', '/pool')).body.toString()) as PoolDoc;
  const settled = (n: number) => waitFor(async () => { const d = await poolDoc(); return d.ready === n && d.draining === 0 && d.booting === 0; }, { timeoutMs: 60_000, what: `${n} ready workers` });

  const clientsLoop = { current: undefined as ClosedLoop | undefined };
  try {
    await settled(4);
    const loop = startClosedLoop(m2.port, clients, ANSWER_WITHIN_MS);
    clientsLoop.current = loop;
    const lostAt = loop.lostAt;

    const windows: Window[] = [];
    const warmup = Date.now() + 2_000;
    await waitFor(() => Date.now() > warmup, { intervalMs: 100 });
    for (let r = 0; r < rounds; r += 1) {
      let start = Date.now();
      await admin('POST', '/pool/scale', '{"delta":-1}');
      await settled(3);
      await admin('POST', '/pool/scale', '{"delta":1}');
      await settled(4);
      windows.push({ kind: 'scale-down', start, end: Date.now() + ANSWER_WITHIN_MS, lost: 0 });
      await waitFor(() => Date.now() > (windows.at(-1)?.end ?? 0), { intervalMs: 50, timeoutMs: 5_000 });

      // Spread the kills over the slots, so each kill meets a slot with a reset backoff.
      const victim = (await poolDoc()).workers.filter((w) => w.state === 'ready').sort((a, b) => a.restarts - b.restarts)[0];
      start = Date.now();
      if (victim !== undefined) process.kill(victim.pid, 'SIGKILL');
      await waitFor(async () => { const d = await poolDoc(); return d.ready === 4 && !d.workers.some((w) => w.pid === victim?.pid); }, { timeoutMs: 60_000, what: 'replacement' });
      windows.push({ kind: 'kill-9', start, end: Date.now() + ANSWER_WITHIN_MS, lost: 0 });
      await waitFor(() => Date.now() > (windows.at(-1)?.end ?? 0), { intervalMs: 50, timeoutMs: 5_000 });
    }
    await loop.stop();
    const sent = loop.sent();
    const answered = loop.answered();
    // A request is lost to the latest event that happened while it was outstanding (sent before the event,
    // within the answer time) or whose window it was sent in.
    const blame = (t: number): Window | undefined =>
      windows.filter((w) => w.start <= t + ANSWER_WITHIN_MS && t <= w.end).sort((a, b) => b.start - a.start)[0];
    let unattributed = 0;
    for (const t of lostAt) {
      const w = blame(t);
      if (w === undefined) unattributed += 1;
      else w.lost += 1;
    }
    if (process.env['M2POOL_LOSS_DEBUG'] !== undefined) {
      const t0 = windows[0]?.start ?? 0;
      process.stderr.write(`windows: ${JSON.stringify(windows.map((w) => [w.kind, w.start - t0, w.end - t0]))}\nlost at: ${JSON.stringify(lostAt.map((t) => t - t0))}\n`);
    }
    const per = (kind: Window['kind']) => windows.filter((w) => w.kind === kind).map((w) => w.lost);
    const summary = {
      transport,
      clients,
      rounds,
      receiveHwm: values['receive-hwm'] ?? 'default',
      sent,
      answered,
      lost: lostAt.length,
      unattributed,
      scaleDownLost: per('scale-down'),
      kill9Lost: per('kill-9'),
    };
    const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    process.stdout.write(
      `transport=${transport} clients=${clients} receive-hwm=${summary.receiveHwm}: ${answered}/${sent} answered; unanswered within 2 s per graceful scale-down: ` +
        `${summary.scaleDownLost.join(', ')} (mean ${mean(summary.scaleDownLost).toFixed(1)}); per kill -9: ${summary.kill9Lost.join(', ')} ` +
        `(mean ${mean(summary.kill9Lost).toFixed(1)}); outside any event window: ${unattributed}\n`,
    );
  } catch (err) {
    process.stderr.write(`pool log tail: ${JSON.stringify(pool.logs.slice(-5))}\n${pool.stderr().slice(-2000)}\n`);
    throw err;
  } finally {
    await clientsLoop.current?.stop();
    await pool.stop();
    await m2.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
