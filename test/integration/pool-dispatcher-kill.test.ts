/**
 * The dispatch topology's own risk (the pool suite, pool.case.ts, covers what both topologies share): a `kill -9`
 * of the dispatcher under GET load from 24 keep-alive clients is repaired by the supervisor at once (no backoff),
 * the pool serves again as soon as the new dispatcher is ready, at most one request per client is lost, and the
 * dispatcher's counters on the pool's `/metrics` never go backwards across the restart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawRequest } from '../helpers/http-client';
import { startLoad, type LoadResult } from '../helpers/load';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { settled, startCliPool } from '../helpers/pool';
import { waitFor } from '../helpers/wait-for';

const CLIENTS = 24;
const POOL_FLAGS = ['--workers', '3', '--max-workers', '6', '--heartbeat-interval-ms', '200', '--restart-backoff-initial-ms', '50', '--drain-timeout-ms', '5000'];

function echoLoad(port: number, timeoutMs: number): ReturnType<typeof startLoad> {
  return startLoad({
    port,
    clients: CLIENTS,
    request: (c, n) => ({ path: `/echo/c${c}-${n}` }),
    expectedBody: (c, n) => `/echo/c${c}-${n}`,
    timeoutMs,
  });
}

const failedOf = (results: readonly LoadResult[]): LoadResult[] => results.filter((r) => r.problem !== undefined || r.status !== 200);

test('kill -9 of the dispatcher under GET load: restarted at once, serving again once it is ready; the loss is counted', { timeout: 60_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const pool = await startCliPool(m2, POOL_FLAGS);
  t.after(() => pool.stop());
  const before = await pool.waitPool(settled(3), '3 ready workers');
  const pid = before.dispatcher?.pid;
  assert.ok(typeof pid === 'number');
  const received = (text: string): number => Number(/^m2pool_dispatcher_messages_received_total (\d+)/m.exec(text)?.[1] ?? 0);
  const scrape = (): Promise<string> => fetch(`http://127.0.0.1:${pool.adminPort}/metrics`).then((r) => r.text());

  // Requests in flight at the crash are lost (Mongrel2 keeps their clients waiting): a short client timeout counts them.
  const load = echoLoad(m2.port, 3_000);
  await load.reached(500);
  const countedBefore = await waitFor(async () => received(await scrape()) || undefined, { what: 'a dispatcher snapshot in the pool metrics' });
  const killedAt = performance.now();
  process.kill(pid, 'SIGKILL');
  // The load's clients wait out their lost requests; fresh connections probe when the pool serves again.
  let probes = 0;
  await waitFor(async () => {
    probes += 1;
    const r = await rawRequest(m2.port, { path: `/echo/probe-${probes}` }, { timeoutMs: 250 }).catch(() => undefined);
    return r?.status === 200;
  }, { timeoutMs: 10_000, intervalMs: 10, what: 'a fresh request answered after the crash' });
  const recoveryMs = performance.now() - killedAt;
  const answeredAt = pool.proc.logs.length;
  const after = await pool.waitPool((p) => p.dispatcher?.state === 'ready' && p.dispatcher.restarts === 1 && p.dispatcher.pid !== pid, 'a new dispatcher');
  // Order and outcome, not a stopwatch (a busy CI machine may take seconds to boot a process): the supervisor
  // respawned at once, and the answered probe came after the new dispatcher reported ready.
  const exit = pool.proc.logs.find((l) => l['event'] === 'dispatcher.exit' && l['dispatcherPid'] === pid);
  assert.equal(exit?.['respawnInMs'], 0, `respawned without backoff: ${JSON.stringify(exit)}`);
  const ready = pool.proc.logs.findIndex((l) => l['event'] === 'dispatcher.ready' && l['dispatcherPid'] === after.dispatcher?.pid);
  assert.ok(ready >= 0 && ready < answeredAt, 'the new dispatcher was ready before the fresh request was answered');
  const bootMs = Number(pool.proc.logs[ready]?.['bootMs']);
  await load.reached(load.results.length + 500);
  const results = await load.stop();
  const failed = failedOf(results);
  const lostAtCrash = failed.filter((r) => r.sentAt <= killedAt);
  const failedLater = failed.filter((r) => r.sentAt > killedAt);
  t.diagnostic(`dispatcher kill -9: serving again after ${recoveryMs.toFixed(0)} ms (the new one booted in ${bootMs} ms); ${failed.length} requests lost (${lostAtCrash.length} sent before the kill, ${failedLater.length} in the ${recoveryMs.toFixed(0)} ms after it; ${CLIENTS} clients); ${results.length} requests in all`);
  // Lost: what the dead dispatcher held, and what Mongrel2 pushed into its socket before it noticed the crash.
  // Each client has one request outstanding, so at most one per client.
  assert.ok(failed.length <= CLIENTS, `${failed.length} lost: more than one per client`);
  assert.equal(after.ready, 3, 'the workers stayed up and rejoined');

  const metricsAfter = await scrape();
  assert.ok(received(metricsAfter) >= countedBefore, `the dispatcher counters never go backwards across its restart (${received(metricsAfter)} < ${countedBefore})`);
  await waitFor(async () => received(await scrape()) > countedBefore, { what: 'the new dispatcher counting on top of the old one' });
  assert.match(metricsAfter, /^m2pool_dispatcher_restarts_total\{reason="signal"\} 1$/m);
});
