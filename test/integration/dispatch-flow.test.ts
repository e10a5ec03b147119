/**
 * The dispatch topology end to end: a real Mongrel2, a real `m2pool dispatcher`, real `m2pool worker --dispatcher`
 * processes of examples/hello. Requests flow and come back to the right client; pipelined requests of one
 * connection come back in order although two workers serve them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pipelinedBodies, rawRequest } from '../helpers/http-client';
import { startTestDispatcher } from '../helpers/dispatcher';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { HELLO_APP } from '../helpers/processes';

test('requests flow through the dispatcher; pipelined requests of a connection stay in order with 2 workers', { timeout: 40_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const adminPort = await freePort();
  const dispatcher = await startTestDispatcher(m2, ['--admin', `127.0.0.1:${adminPort}`]);
  t.after(() => dispatcher.proc.stop());
  const workers = await Promise.all([dispatcher.worker(HELLO_APP, ['--request-log-level', 'debug']), dispatcher.worker(HELLO_APP, ['--request-log-level', 'debug'])]);
  for (const w of workers) t.after(() => w.stop());

  const hello = await rawRequest(m2.port, { path: '/echo/first' });
  assert.equal(hello.status, 200);
  assert.equal(hello.body.toString(), '/echo/first');

  const post = await rawRequest(m2.port, { method: 'POST', path: '/echo', headers: [['Content-Type', 'text/plain']], body: 'x'.repeat(5000) });
  assert.equal(post.status, 200);
  assert.equal(post.body.toString(), 'x'.repeat(5000));

  // Pipelining: 20 connections each send 10 requests at once (one write), the first one slow; the replies must
  // come back in order (the direct topology spreads them over both workers and gets this wrong). Mongrel2 closes
  // a connection with more than 16 replies queued to it (docs/mongrel2.md §4.4), hence 10.
  const PIPELINED = 10;
  const pathOf = (c: number, i: number): string => (i === 0 ? `/slow?ms=${20 + c}` : `/echo/c${c}-${i}`);
  const bodyOf = (c: number, i: number): string => (i === 0 ? `slept ${20 + c} ms\n` : `/echo/c${c}-${i}`);
  const results = await pipelinedBodies(m2.port, 20, (c) => Array.from({ length: PIPELINED }, (_, i) => pathOf(c, i)));
  results.forEach((bodies, c) => assert.deepEqual(bodies, Array.from({ length: PIPELINED }, (_, i) => bodyOf(c, i))));

  const total = 2 + 20 * PIPELINED;
  // The standalone dispatcher's own endpoint: ready (its Mongrel2 is there), and its counters saw every request.
  const admin = `http://127.0.0.1:${adminPort}`;
  assert.equal((await fetch(`${admin}/readyz`)).status, 200);
  const metrics = await (await fetch(`${admin}/metrics`)).text();
  assert.match(metrics, new RegExp(`^m2pool_dispatcher_requests_dispatched_total\\{worker="external"\\} ${total}$`, 'm'));
  assert.match(metrics, new RegExp(`^m2pool_queue_wait_seconds_count ${total}$`, 'm'));
  assert.match(metrics, /^m2pool_dispatcher_workers 2$/m);

  // Both workers served (most free credit spreads the load), and they account for every request.
  const stats = await Promise.all(
    workers.map(async (w) => {
      await w.stop();
      return (await w.waitForLog((l) => l['msg'] === 'worker.exit'))['stats'] as Record<string, number>;
    }),
  );
  assert.equal(stats.reduce((sum, s) => sum + (s['response'] ?? 0), 0), total);
  assert.ok(stats.every((s) => (s['response'] ?? 0) > 0), `both workers served: ${JSON.stringify(stats.map((s) => s['response']))}`);
});
