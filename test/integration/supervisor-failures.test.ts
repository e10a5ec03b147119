import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeWorkerPool } from '../helpers/supervisor-harness';
import { isAlive, waitFor } from '../helpers/wait-for';

const T = { timeout: 20_000 };

test('kill -9 of a worker: it is replaced in the same slot and the restart is counted', T, async (t) => {
  const h = await startFakeWorkerPool(t, { workers: 2 });
  const before = await h.waitForPool((p) => p.ready === 2, '2 ready workers');
  const victim = before.workers[1]!;
  process.kill(victim.pid!, 'SIGKILL');
  const after = await h.waitForPool((p) => p.ready === 2 && p.workers.every((w) => w.pid !== victim.pid), 'a replacement for the killed worker');
  const replacement = after.workers.find((w) => w.slot === victim.slot)!;
  assert.equal(replacement.restarts, 1);
  assert.equal(after.workers.find((w) => w.slot !== victim.slot)?.restarts, 0);
  const exit = h.sink.events('worker.exit')[0];
  assert.deepEqual([exit?.['workerPid'], exit?.['signal'], exit?.['reason'], exit?.['expected']], [victim.pid, 'SIGKILL', 'signal', false]);
  assert.match(String(exit?.['hint']), /out of memory\?/);
});

test('a blocked event loop is detected by the heartbeat timeout, SIGKILLed and replaced', T, async (t) => {
  const h = await startFakeWorkerPool(t, { workers: 1, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 500 });
  const before = await h.waitForPool((p) => p.ready === 1, '1 ready worker');
  const stuck = before.workers[0]!.pid!;
  process.kill(stuck, 'SIGUSR2'); // the fake worker spins forever
  await h.waitForPool((p) => p.ready === 1 && p.workers[0]?.pid !== stuck, 'a replacement for the stuck worker');
  const kill = h.sink.events('worker.kill')[0];
  assert.deepEqual([kill?.['workerPid'], kill?.['reason'], kill?.['signal']], [stuck, 'heartbeat-timeout', 'SIGKILL']);
  assert.ok(Number(kill?.['silentForMs']) >= 500);
  assert.match(String(kill?.['why']), /event loop is blocked/);
  await waitFor(() => !isAlive(stuck), { timeoutMs: 2_000, what: 'the stuck worker to be gone' });
  assert.equal(h.sink.events('worker.exit')[0]?.['reason'], 'heartbeat-timeout');
});

test('boot crash loops open the breaker of their slots while the other slots keep serving', T, async (t) => {
  const h = await startFakeWorkerPool(
    t,
    { workers: 4, restartBackoff: { initialMs: 20, maxMs: 100, resetAfterMs: 5_000 }, crashLoop: { maxFailures: 3, windowMs: 30_000 } },
    { FAKE_WORKER_BOOT_EXIT: '1:4,2:1' },
  );
  const p = await h.waitForPool((s) => s.breaker.filter((b) => b.open).length === 2 && s.ready === 2, 'two open breakers and two ready workers');
  assert.deepEqual(p.workers.map((w) => [w.slot, w.state]), [[0, 'ready'], [3, 'ready']]);
  assert.deepEqual(
    p.breaker.map((b) => [b.slot, b.open, b.failures, b.lastExit?.reason, b.lastExit?.code]),
    [[1, true, 3, 'app-load-error', 4], [2, true, 3, 'crash', 1]],
  );
  // Next spawn of an open breaker: its one probe, crashLoop.probeAfterMs (default 5 min) after it opened.
  for (const b of p.breaker) assert.ok(b.nextSpawnInMs !== null && b.nextSpawnInMs > 240_000 && b.nextSpawnInMs <= 300_000, String(b.nextSpawnInMs));
  const spawnsPerSlot = (slot: number): number => h.sink.events('worker.spawn', (l) => l['slot'] === slot).length;
  assert.deepEqual([spawnsPerSlot(1), spawnsPerSlot(2)], [3, 3]);
  assert.deepEqual(h.sink.events('slot.crashloop').map((l) => l['slot']).sort(), [1, 2]);
  assert.deepEqual((await h.call('GET', '/readyz')).status, 200);
  const fatal = h.sink.events('worker.exit', (l) => l['slot'] === 1)[0]?.['fatal'] as Record<string, unknown> | undefined;
  assert.equal(fatal?.['code'], 'M2P_ERR_APP_LOAD');
});

test('a worker that ignores shutdown is SIGKILLed at its drain deadline, not before', T, async (t) => {
  const h = await startFakeWorkerPool(t, { workers: 2, drainTimeoutMs: 300 }, { FAKE_WORKER_IGNORE_SHUTDOWN: '1' });
  const before = await h.waitForPool((p) => p.ready === 2, '2 ready workers');
  const started = Date.now();
  assert.equal((await h.call('POST', '/pool/scale', { workers: 1 })).status, 200);
  await waitFor(() => h.sink.events('worker.exit').length === 1, { timeoutMs: 8_000, what: 'the stubborn worker to be reaped' });
  const elapsed = Date.now() - started;
  const kill = h.sink.events('worker.kill')[0];
  assert.deepEqual([kill?.['reason'], kill?.['workerPid']], ['drain-timeout', before.workers[1]?.pid]);
  assert.ok(elapsed >= 300, `killed after ${elapsed} ms, before the 300 ms drain budget`);
  const exit = h.sink.events('worker.exit')[0];
  assert.deepEqual([exit?.['reason'], exit?.['expected']], ['drain-timeout', true]);
});
