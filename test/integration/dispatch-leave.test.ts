/**
 * Graceful leave loses nothing: under GET load from 24 keep-alive clients, one of 3 workers is sent SIGTERM
 * (LEAVE → LEFT → finish → exit) and a new one started, several times; every request gets its own 200.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestDispatcher } from '../helpers/dispatcher';
import { startLoad } from '../helpers/load';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { HELLO_APP, type TestProcess } from '../helpers/processes';

const CLIENTS = 24;
const CYCLES = 4;

test(`SIGTERM one of 3 workers and start another, ${CYCLES} times under GET load: zero failed or unanswered`, { timeout: 60_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const dispatcher = await startTestDispatcher(m2);
  t.after(() => dispatcher.proc.stop());
  const workers: TestProcess[] = [];
  t.after(() => Promise.all(workers.map((w) => w.stop())));
  for (let i = 0; i < 3; i += 1) workers.push(await dispatcher.worker(HELLO_APP));

  const load = startLoad({
    port: m2.port,
    clients: CLIENTS,
    request: (c, n) => ({ path: `/echo/c${c}-${n}` }),
    expectedBody: (c, n) => `/echo/c${c}-${n}`,
  });
  await load.reached(500);
  const leavers: TestProcess[] = [];
  for (let cycle = 0; cycle < CYCLES; cycle += 1) {
    const leaving = workers.shift() as TestProcess;
    leavers.push(leaving);
    const before = load.results.length;
    leaving.signal('SIGTERM');
    const [code] = await leaving.exited;
    assert.equal(code, 0, 'the leaving worker exits cleanly');
    workers.push(await dispatcher.worker(HELLO_APP));
    await load.reached(before + 300);
  }
  const results = await load.stop();

  const failed = results.filter((r) => r.problem !== undefined || r.status !== 200);
  assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${results.length} requests failed`);
  // Each leaver served requests and reported every one it took as answered.
  for (const w of leavers) {
    const exit = await w.waitForLog((l) => l['msg'] === 'worker.exit');
    const stats = exit['stats'] as Record<string, number>;
    assert.ok((stats['received'] ?? 0) > 0);
    assert.equal(stats['response'], stats['received'], `worker ${w.pid}: ${JSON.stringify(stats)}`);
  }
  t.diagnostic(`${results.length} requests, ${CYCLES} leave cycles, 0 failed`);
});
