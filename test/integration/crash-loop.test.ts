/**
 * Issue 11, finding 4, with real worker processes: outside SIGKILLs of serving workers never open a breaker and
 * the pool comes back whole; a pool whose every slot fails at boot answers `/healthz` 503 with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeWorkerPool } from '../helpers/supervisor-harness';

const T = { timeout: 30_000 };
const RESTARTS = { restartBackoff: { initialMs: 100, maxMs: 800, resetAfterMs: 5_000 }, crashLoop: { maxFailures: 3, windowMs: 30_000, probeAfterMs: 300_000 } };

test('12 outside kills of serving workers, each as soon as it is ready: no breaker opens, the pool comes back whole', T, async (t) => {
  const h = await startFakeWorkerPool(t, { workers: 2, ...RESTARTS });
  const killed = new Set<number>();
  while (killed.size < 12) {
    const p = await h.waitForPool((s) => s.workers.some((w) => w.state === 'ready' && w.pid !== null && !killed.has(w.pid)), 'a ready worker to kill', 10_000);
    for (const w of p.workers) {
      if (w.state !== 'ready' || w.pid === null || killed.has(w.pid) || killed.size >= 12) continue;
      killed.add(w.pid);
      process.kill(w.pid, 'SIGKILL');
    }
  }
  const back = await h.waitForPool((s) => s.ready === 2 && s.workers.every((w) => w.pid !== null && !killed.has(w.pid)), 'both slots serving again', 10_000);
  assert.deepEqual(back.breaker.filter((b) => b.open), []);
  assert.deepEqual(h.sink.events('slot.crashloop'), []);
  const exits = h.sink.events('worker.exit', (l) => killed.has(Number(l['workerPid'])));
  assert.equal(exits.length, 12);
  assert.ok(exits.every((l) => l['reason'] === 'signal' && l['failedWhile'] === 'serving'));
  assert.equal((await h.call('GET', '/healthz')).status, 200);
});

test('every slot failing at boot: /healthz answers 503 saying no worker can serve, the last slot probes within 10 s', T, async (t) => {
  const h = await startFakeWorkerPool(t, { workers: 2, minReady: 0, ...RESTARTS }, { FAKE_WORKER_BOOT_EXIT: '*:4' });
  await h.waitForPool((s) => s.breaker.filter((b) => b.open).length === 2, 'both breakers open', 15_000);
  const r = await h.call('GET', '/healthz');
  assert.equal(r.status, 503);
  assert.equal(r.body['reason'], 'no-worker-can-serve');
  assert.match(String(r.body['detail']), /2 have an open crash-loop breaker/);
  const slots = r.body['slots'] as Array<{ waiting: string; nextSpawnInMs: number; lastExit: string }>;
  assert.deepEqual(slots.map((s) => [s.waiting, s.lastExit]), [['breaker', 'app-load-error'], ['breaker', 'app-load-error']]);
  const due = slots.map((s) => s.nextSpawnInMs).sort((a, b) => a - b);
  assert.ok(due[0]! <= 10_000 && due[1]! > 200_000, `probes due in ${due.join(', ')} ms`);
});
