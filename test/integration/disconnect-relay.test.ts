/**
 * Mongrel2 round-robins disconnect notices between handler processes (docs/mongrel2.md §3.1): in a pool the
 * notice for a client often reaches a worker that is not serving it. The pool relays it, so a slow handler's
 * signal still fires when its client leaves. Real Mongrel2, real `m2pool start`, the example app's /slow route.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpConnection, buildRequest, rawRequest } from '../helpers/http-client';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { CLI, HELLO_APP, spawnNode, type LogLine } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

const CLIENTS = 6;

test('a client that leaves aborts its slow handler even when Mongrel2 hands the notice to another worker', { timeout: 60_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const adminPort = await freePort();
  const proc = spawnNode([CLI, 'start', '--topology', 'direct', '--app', HELLO_APP, '--workers', '2', ...m2.workerArgs(), '--admin', `127.0.0.1:${adminPort}`, '--heartbeat-interval-ms', '100', '--log-level', 'debug']);
  t.after(() => proc.stop());
  await proc.waitForLog((l) => l['event'] === 'pool.ready', 20_000);
  const workers = new Set<unknown>();
  await proc.waitForLog((l) => {
    if (l['event'] === 'worker.ready' && l['role'] === 'worker') workers.add(l['pid']);
    return workers.size === 2;
  }, 20_000);

  const slowStarts = (): LogLine[] => proc.logs.filter((l) => l['msg'] === 'request.start' && l['path'] === '/slow');
  const conns = await Promise.all(Array.from({ length: CLIENTS }, () => HttpConnection.open(m2.port)));
  // The sleep outlasts the route's 2 s deadline: a request can end only by the disconnect (outcome `aborted`) or
  // by the deadline (`timeout`), never by finishing, so the outcome alone says which came first.
  for (const conn of conns) conn.send(buildRequest({ path: '/slow?ms=60000' }));
  await waitFor(() => slowStarts().length === CLIENTS, { what: `${CLIENTS} slow requests started` });
  const servedBy = new Set(slowStarts().map((l) => l['pid']));
  // Heartbeats report the waiting connections; from then on every worker relays notices it cannot place.
  await proc.waitForLog((l) => l['event'] === 'pool.relay-disconnects' && l['on'] === true, 10_000);
  // Mongrel2's PUSH alternates between the two workers: requests went A, B, A, B, …, and notices sent in the same
  // order would land on their owners. One more request shifts the rotation, so the notices land on the others.
  assert.equal((await rawRequest(m2.port, { path: '/echo/shift' })).status, 200);
  const closedAt = proc.logs.length;
  for (const conn of conns) conn.close();

  const done = await waitFor(() => {
    const lines = proc.logs.filter((l) => l['msg'] === 'request' && l['path'] === '/slow');
    return lines.length === CLIENTS ? lines : undefined;
  }, { timeoutMs: 10_000, what: `${CLIENTS} slow requests to end` });
  assert.deepEqual(done.map((l) => l['outcome']), Array.from({ length: CLIENTS }, () => 'aborted'));
  // Order, not a stopwatch: every one ended after its client closed (a busy machine may take its time).
  for (const l of done) assert.ok(proc.logs.indexOf(l) >= closedAt, `ended before its client closed: ${JSON.stringify(l)}`);
  const relayed = proc.logs.filter((l) => l['event'] === 'request.disconnect-relay').length;
  t.diagnostic(`slow requests on ${servedBy.size} worker(s); ${relayed} of ${CLIENTS} notices relayed through the supervisor`);
  await proc.waitForLog((l) => l['event'] === 'pool.relay-disconnects' && l['on'] === false, 10_000);
});
