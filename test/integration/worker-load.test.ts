/**
 * Sustained keep-alive load through a real Mongrel2 to two workers: every request must get its own correct
 * response — no hang, no mix-up, no error. (Throughput is measured by `npm run bench`, never asserted here.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpConnection, buildRequest } from '../helpers/http-client';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { HELLO_APP, startWorker } from '../helpers/processes';

const CONNECTIONS = 40;
const DURATION_MS = 6_000;

test(`${CONNECTIONS} keep-alive connections for ${DURATION_MS / 1000} s each get exactly their own responses`, { timeout: 60_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const workers = [];
  for (let i = 0; i < 2; i += 1) {
    const worker = await startWorker(HELLO_APP, m2.workerArgs(), ['--request-log-level', 'debug']);
    t.after(() => worker.stop());
    workers.push(worker);
  }

  const deadline = Date.now() + DURATION_MS;
  const mismatches: string[] = [];
  const counts = await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, c) => {
      const conn = await HttpConnection.open(m2.port);
      let n = 0;
      try {
        while (Date.now() < deadline) {
          // Alternate a path echo and a body echo, each unique to this connection and sequence number.
          const tag = `c${c}-${n}`;
          if (n % 2 === 0) {
            conn.send(buildRequest({ path: `/echo/${tag}` }));
            const res = await conn.read({ timeoutMs: 5_000 });
            if (res.status !== 200 || res.body.toString() !== `/echo/${tag}`) mismatches.push(`${tag}: ${res.status} ${res.body.toString()}`);
          } else {
            conn.send(buildRequest({ method: 'POST', path: '/echo', headers: [['Content-Type', 'text/plain']], body: tag.repeat(50) }));
            const res = await conn.read({ timeoutMs: 5_000 });
            if (res.status !== 200 || res.body.toString() !== tag.repeat(50)) mismatches.push(`${tag}: ${res.status}`);
          }
          n += 1;
        }
      } finally {
        conn.close();
      }
      return n;
    }),
  );
  assert.deepEqual(mismatches, []);
  assert.ok(counts.every((n) => n > 0), 'every connection completed requests');
  const total = counts.reduce((a, b) => a + b);
  t.diagnostic(`${total} requests on ${CONNECTIONS} connections in ${DURATION_MS} ms`);

  // Every request read ended in exactly one outcome (docs/architecture.md invariant 1), and none was read twice
  // or missed: the workers' own accounting at exit adds up to what the clients sent.
  const stats = await Promise.all(
    workers.map(async (w) => {
      await w.stop();
      const exit = await w.waitForLog((l) => l['msg'] === 'worker.exit');
      return exit['stats'] as Record<string, number>;
    }),
  );
  for (const s of stats) {
    const ended = ['response', 'error', 'timeout', 'aborted', 'closed'].reduce((sum, k) => sum + (s[k] ?? 0), 0);
    assert.equal(s['inFlight'], 0);
    assert.equal(ended, s['received']);
  }
  assert.equal(stats.reduce((sum, s) => sum + (s['received'] ?? 0), 0), total);
  assert.equal(stats.reduce((sum, s) => sum + (s['response'] ?? 0), 0), total);
});
