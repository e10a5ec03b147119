/**
 * The dispatch topology as `m2pool start` runs it by default (issue 14 items 4, 8, 10): the supervisor forks the
 * dispatcher, workers join it, and under GET load from 24 keep-alive clients
 * - 10 scale events (down and up through the admin API), 3 rolling reloads and 5 `kill -9` of workers lose
 *   nothing: every request gets its own 200;
 * - a `kill -9` of the dispatcher is repaired by the supervisor at once (no backoff) and the pool serves again as
 *   soon as the new one is ready (what was lost is counted and reported);
 * and `/pool`, `/metrics` show the dispatcher.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawRequest } from '../helpers/http-client';
import { startLoad, type LoadResult } from '../helpers/load';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { settled, startPool, type TestPool } from '../helpers/pool';
import { waitFor } from '../helpers/wait-for';

const CLIENTS = 24;
const POOL_FLAGS = ['--workers', '3', '--max-workers', '6', '--heartbeat-interval-ms', '200', '--restart-backoff-initial-ms', '50', '--drain-timeout-ms', '5000'];

function echoLoad(port: number, timeoutMs?: number): ReturnType<typeof startLoad> {
  return startLoad({
    port,
    clients: CLIENTS,
    request: (c, n) => ({ path: `/echo/c${c}-${n}` }),
    expectedBody: (c, n) => `/echo/c${c}-${n}`,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

const failedOf = (results: readonly LoadResult[]): LoadResult[] => results.filter((r) => r.problem !== undefined || r.status !== 200);

async function readyPids(pool: TestPool): Promise<number[]> {
  return (await pool.pool()).workers.filter((w) => w.state === 'ready' && w.pid !== null).map((w) => w.pid as number);
}

test('dispatch by default: 20 scale events, 5 rolling reloads and 10 kill -9 of workers under GET load lose nothing', { timeout: 90_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const pool = await startPool(m2, POOL_FLAGS);
  t.after(() => pool.stop());
  const first = await pool.waitPool(settled(3), '3 ready workers');
  assert.equal(first.topology, 'dispatch');
  assert.equal(first.dispatcher?.state, 'ready');
  assert.equal(first.notReadyReason, null);

  const load = echoLoad(m2.port);
  const t0 = performance.now();
  const events: Array<{ at: number; what: string }> = [];
  const mark = (what: string): void => void events.push({ at: performance.now(), what: `${what} at ${(performance.now() - t0).toFixed(0)} ms` });
  await load.reached(300);
  const progress = async (): Promise<void> => load.reached(load.results.length + 100);
  const scales = [2, 4, 3, 5, 2, 4, 1, 3, 5, 3, 1, 4, 2, 5, 3, 1, 4, 2, 5, 3];
  let reloads = 0;
  let kills = 0;
  for (const [i, n] of scales.entries()) {
    mark(`scale to ${n}`);
    const r = await pool.call('POST', '/pool/scale', { workers: n });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await pool.waitPool(settled(n), `${n} settled workers`);
    await progress();
    if (i % 4 === 3) {
      mark('reload');
      const rl = await pool.call('POST', '/pool/reload');
      assert.equal(rl.status, 202, JSON.stringify(rl.body));
      const gen = rl.body['generation'] as number;
      await pool.waitPool((p) => settled(n)(p) && p.workers.every((w) => w.generation === gen), `generation ${gen} everywhere`, 30_000);
      reloads += 1;
      await progress();
    }
    if (i % 2 === 1) {
      const [victim] = await readyPids(pool);
      assert.ok(victim !== undefined);
      mark(`kill -9 ${victim}`);
      process.kill(victim, 'SIGKILL');
      await pool.waitPool((p) => settled(n)(p) && p.workers.every((w) => w.pid !== victim), `worker ${victim} replaced`);
      kills += 1;
      await progress();
    }
  }
  const results = await load.stop();
  const failed = failedOf(results);
  assert.equal(reloads, 5);
  assert.equal(kills, 10);
  const metrics = await fetch(`http://127.0.0.1:${pool.adminPort}/metrics`).then((r) => r.text());
  assert.deepEqual(failed.slice(0, 5).map((r) => `${r.status} ${String(r.problem)} at ${(r.sentAt - t0).toFixed(0)} ms, ${events.filter((e) => e.at <= r.sentAt).at(-1)?.what ?? '-'}`), [], `${failed.length} of ${results.length} requests failed; ${metrics.split('\n').filter((l) => /^m2pool_dispatcher_failed_requests_total/.test(l)).join(', ')}`);

  const dispatched = [...metrics.matchAll(/^m2pool_dispatcher_requests_dispatched_total\{worker="[^"]+"\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
  assert.ok(metrics.includes('m2pool_queue_wait_seconds_bucket'), 'the queue wait histogram joins the pool metrics');
  assert.ok(dispatched > 0, 'requests by worker join the pool metrics');
  t.diagnostic(`dispatcher: ${metrics.split('\n').filter((l) => /^m2pool_dispatcher_(failed_requests|retries|workers_lost)_total/.test(l)).join(', ')}`);
  t.diagnostic(`${results.length} requests, ${scales.length} scale events, ${reloads} reloads, ${kills} kill -9: ${failed.length} failed or unanswered`);
});

test('kill -9 of the dispatcher under GET load: restarted at once, serving again once it is ready; the loss is counted', { timeout: 60_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const pool = await startPool(m2, POOL_FLAGS);
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

test('maxRequests recycling and a SIGTERM to a worker under GET load lose nothing', { timeout: 60_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const pool = await startPool(m2, [...POOL_FLAGS, '--max-requests', '1500', '--max-requests-jitter', '300']);
  t.after(() => pool.stop());
  await pool.waitPool(settled(3), '3 ready workers');
  const load = echoLoad(m2.port);
  const recycled = (): number => pool.proc.logs.filter((l) => l['event'] === 'worker.exit' && l['reason'] === 'recycle-requests').length;
  await waitFor(() => recycled() >= 4, { timeoutMs: 40_000, what: '4 workers recycled after maxRequests' });
  const [victim] = await readyPids(pool);
  assert.ok(victim !== undefined);
  process.kill(victim, 'SIGTERM');
  await waitFor(() => pool.proc.logs.some((l) => l['event'] === 'worker.exit' && l['workerPid'] === victim), { what: `worker ${victim} gone` });
  await pool.waitPool((p) => p.ready === 3 && p.workers.every((w) => w.pid !== victim), `worker ${victim} replaced`);
  await load.reached(load.results.length + 300);
  const results = await load.stop();
  const failed = failedOf(results);
  const exitOf = pool.proc.logs.find((l) => l['event'] === 'worker.exit' && l['workerPid'] === victim);
  assert.equal(exitOf?.['code'], 0, 'the signalled worker left and exited cleanly');
  assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${results.length} requests failed`);
  t.diagnostic(`${results.length} requests, ${recycled()} recycled workers, 1 SIGTERM: ${failed.length} failed or unanswered`);
});
