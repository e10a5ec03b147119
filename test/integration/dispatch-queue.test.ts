/**
 * When every worker's credit is in use, requests wait at the dispatcher in a bounded queue: past the queue
 * timeout they get 503 with Retry-After; past the queue limit the dispatcher stops reading, so the rest wait in
 * Mongrel2 (and are served once credit comes back).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { startTestDispatcher } from '../helpers/dispatcher';
import { rawRequest } from '../helpers/http-client';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { REPO_ROOT } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

const SLOW_APP = path.join(REPO_ROOT, 'dist/test/fixtures/slow-post-app.js');

test('no credit: queued requests time out with 503 + Retry-After; beyond the queue limit they wait in Mongrel2', { timeout: 40_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const adminPort = await freePort();
  const dispatcher = await startTestDispatcher(m2, ['--queue-limit', '2', '--queue-timeout-ms', '1000', '--retry-after', '7', '--admin', `127.0.0.1:${adminPort}`]);
  t.after(() => dispatcher.proc.stop());
  const worker = await dispatcher.worker(SLOW_APP, ['--max-in-flight', '1']);
  t.after(() => worker.stop());
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return Number(line?.split(' ')[1]);
  };

  // One slow request holds the worker's only credit; two more fill the queue; the fourth is not read.
  const started = performance.now();
  const holder = rawRequest(m2.port, { path: '/slow?ms=1500&tag=holder' });
  await waitFor(async () => (await metric('m2pool_dispatcher_credit_in_use')) === 1, { what: 'the worker busy' });
  const queued = [rawRequest(m2.port, { path: '/slow?ms=1&tag=q1' }), rawRequest(m2.port, { path: '/slow?ms=1&tag=q2' })];
  await waitFor(async () => (await metric('m2pool_dispatcher_queue_depth')) === 2, { what: 'two queued' });
  const waiting = rawRequest(m2.port, { path: '/slow?ms=1&tag=in-mongrel2' });

  const timedOut = await Promise.all(queued);
  for (const res of timedOut) {
    assert.equal(res.status, 503);
    assert.equal(res.header('retry-after'), '7');
    assert.equal(res.header('connection'), 'close');
  }
  assert.ok(performance.now() - started < 1_500, 'the queue timeout answered them before the worker was free');
  // The request left in Mongrel2 was read once the queue had room, and served when the worker was free.
  const [held, late] = await Promise.all([holder, waiting]);
  assert.equal(held.body.toString(), 'slept 1500 ms holder\n');
  assert.equal(late.status, 200);
  assert.equal(late.body.toString(), 'slept 1 ms in-mongrel2\n');
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  assert.match(text, /^m2pool_dispatcher_failed_requests_total\{reason="queue-timeout"\} 2$/m);
});
