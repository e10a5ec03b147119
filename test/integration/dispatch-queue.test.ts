/**
 * When every worker's credit is in use, requests wait at the dispatcher in a bounded queue: past the queue
 * timeout they get 503 with Retry-After; past the queue limit they get 503 at once (issue #18 item 7: the
 * dispatcher keeps reading, so overload is answered quickly instead of waiting unread in Mongrel2).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { startTestDispatcher } from '../helpers/dispatcher';
import { rawRequest } from '../helpers/http-client';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { REPO_ROOT } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

const SLOW_APP = path.join(REPO_ROOT, 'dist/test/fixtures/slow-post-app.js');

async function setup(t: TestContext, flags: readonly string[], maxInFlight: number): Promise<{ m2: TestMongrel2; metric: (name: string) => Promise<number> }> {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const adminPort = await freePort();
  const dispatcher = await startTestDispatcher(m2, [...flags, '--admin', `127.0.0.1:${adminPort}`]);
  t.after(() => dispatcher.proc.stop());
  const worker = await dispatcher.worker(SLOW_APP, ['--max-in-flight', String(maxInFlight)]);
  t.after(() => worker.stop());
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return { m2, metric };
}

test('no credit: queued requests time out with 503 + Retry-After; past the queue limit a request gets 503 at once', { timeout: 40_000 }, async (t) => {
  const { m2, metric } = await setup(t, ['--queue-limit', '2', '--queue-timeout-ms', '1000', '--retry-after', '7'], 1);

  // One slow request holds the worker's only credit; two more fill the queue; the fourth finds it full.
  const holder = rawRequest(m2.port, { path: '/slow?ms=1500&tag=holder' });
  await waitFor(async () => (await metric('m2pool_dispatcher_credit_in_use')) === 1, { what: 'the worker busy' });
  const queued = [rawRequest(m2.port, { path: '/slow?ms=1&tag=q1' }), rawRequest(m2.port, { path: '/slow?ms=1&tag=q2' })];
  await waitFor(async () => (await metric('m2pool_dispatcher_queue_depth')) === 2, { what: 'two queued' });
  const shed = await rawRequest(m2.port, { path: '/slow?ms=1&tag=over-the-limit' });
  assert.equal(shed.status, 503);
  assert.equal(shed.header('retry-after'), '7');
  assert.equal(shed.header('connection'), 'close');
  // Shed on arrival (reason queue-full, counted below), not after waiting for a timeout.
  assert.equal(await metric('m2pool_dispatcher_failed_requests_total{reason="queue-full"}'), 1);

  const timedOut = await Promise.all(queued);
  for (const res of timedOut) {
    assert.equal(res.status, 503);
    assert.equal(res.header('retry-after'), '7');
    assert.equal(res.header('connection'), 'close');
  }
  const held = await holder;
  assert.equal(held.body.toString(), 'slept 1500 ms holder\n');
  // Outcome, not a clock: the queued requests were answered by the queue timeout, never handed to the worker.
  assert.equal(await metric('m2pool_dispatcher_failed_requests_total{reason="queue-timeout"}'), 2);
  assert.equal(await metric('m2pool_dispatcher_failed_requests_total{reason="queue-full"}'), 1);
  assert.equal(await metric('m2pool_dispatcher_requests_dispatched_total{worker="external"}'), 1);
  // Room again: the next request is served.
  const later = await rawRequest(m2.port, { path: '/slow?ms=1&tag=later' });
  assert.equal(later.body.toString(), 'slept 1 ms later\n');
});

test('overload is shed quickly: in a burst far past the queue limit, p99 time to the 503 ≤ queue timeout + 1 s', { timeout: 90_000 }, async (t) => {
  // The shape, scaled down: 150 clients at once against one worker that takes 2 at a time.
  const QUEUE_TIMEOUT_MS = 1_000;
  const CLIENTS = 150;
  const { m2, metric } = await setup(t, ['--queue-limit', '5', '--queue-timeout-ms', String(QUEUE_TIMEOUT_MS)], 2);
  const results = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const sent = performance.now();
      const res = await rawRequest(m2.port, { path: `/slow?ms=500&tag=c${i}` }, { timeoutMs: 60_000 });
      return { status: res.status, retryAfter: res.header('retry-after'), ms: performance.now() - sent };
    }),
  );
  const refused = results.filter((r) => r.status === 503);
  const served = results.filter((r) => r.status === 200);
  assert.equal(refused.length + served.length, CLIENTS, 'every client got an answer: 200 or 503');
  const times = refused.map((r) => r.ms).sort((a, b) => a - b);
  const p = (q: number): number => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)] ?? Infinity;
  t.diagnostic(`${refused.length} of ${CLIENTS} got 503: p50 ${Math.round(p(0.5))} ms, p99 ${Math.round(p(0.99))} ms, max ${Math.round(times.at(-1) ?? 0)} ms`);
  assert.ok(p(0.99) <= QUEUE_TIMEOUT_MS + 1_000, `p99 time to the 503 is ${Math.round(p(0.99))} ms, above the queue timeout + 1 s`);
  assert.ok(refused.every((r) => r.retryAfter === '1'));
  // The worker serves 4 requests a second: all but the first few (credit, then the queue) are refused.
  assert.ok(refused.length >= CLIENTS - 2 - 5 - 10, `most of the burst was refused (${refused.length})`);
  assert.ok((await metric('m2pool_dispatcher_failed_requests_total{reason="queue-full"}')) > 0);
});
