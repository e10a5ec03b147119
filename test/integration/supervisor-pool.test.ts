import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeWorkerPool } from '../helpers/supervisor-harness';
import { waitFor } from '../helpers/wait-for';

const T = { timeout: 20_000 };

test('scale 2 → 4 → 1 over the admin API: surplus workers are told to shut down and exit 0', T, async (t) => {
  const h = await startFakeWorkerPool(t, { workers: 2 });
  const two = await h.waitForPool((p) => p.ready === 2, '2 ready workers');
  assert.deepEqual(two.workers.map((w) => [w.slot, w.state, w.generation]), [[0, 'ready', 0], [1, 'ready', 0]]);
  assert.ok(two.workers.every((w) => typeof w.pid === 'number' && w.restarts === 0));

  assert.deepEqual(await h.call('POST', '/pool/scale', { workers: 4 }), { status: 200, body: { previous: 2, desired: 4 } });
  const four = await h.waitForPool((p) => p.ready === 4, '4 ready workers');
  assert.deepEqual(four.workers.map((w) => w.slot), [0, 1, 2, 3]);
  assert.equal(four.desired, 4);

  assert.deepEqual(await h.call('POST', '/pool/scale', { delta: -3 }), { status: 200, body: { previous: 4, desired: 1 } });
  const one = await h.waitForPool((p) => p.workers.length === 1 && p.ready === 1, 'the pool to shrink to 1');
  // All were idle: ties go to the highest slot, so slot 0 stays.
  assert.deepEqual(one.workers.map((w) => [w.slot, w.pid]), [[0, four.workers[0]?.pid]]);

  const drained = four.workers.slice(1).map((w) => w.pid);
  await waitFor(() => h.sink.events('worker.exit').length === 3, { timeoutMs: 5_000, what: '3 worker.exit events' });
  const exits = h.sink.events('worker.exit');
  assert.deepEqual(exits.map((e) => e['workerPid']).sort(), [...drained].sort());
  for (const e of exits) assert.deepEqual([e['reason'], e['expected'], e['code'], e['signal']], ['scale-down', true, 0, null]);
  const events = await h.workerEvents();
  for (const pid of drained) {
    const mine = events.filter((e) => e.pid === pid).map((e) => (e.event === 'shutdown' ? `shutdown:${String(e['via'])}` : e.event));
    assert.deepEqual(mine.slice(-2), ['shutdown:ipc', 'exit'], `pid ${String(pid)}: ${mine.join(',')}`);
    assert.equal(events.find((e) => e.pid === pid && e.event === 'exit')?.['code'], 0);
  }
  assert.equal(h.sink.events('worker.kill').length, 0, 'nobody was killed');
});

test('out-of-range scale requests are refused and change nothing', T, async (t) => {
  const h = await startFakeWorkerPool(t, { workers: 1, maxWorkers: 3, minWorkers: 1 });
  await h.waitForPool((p) => p.ready === 1, '1 ready worker');
  const over = await h.call('POST', '/pool/scale', { workers: 4 });
  assert.equal(over.status, 400);
  assert.equal(over.body['error'], 'cannot scale to 4 workers: allowed range is 1..3 (minWorkers..maxWorkers)');
  assert.equal((await h.call('POST', '/pool/scale', { delta: -1 })).status, 400);
  assert.equal((await h.call('POST', '/pool/scale', { workers: -1 })).status, 400);
  assert.equal((await h.pool()).desired, 1);
});

test('rolling reload replaces every worker without the ready count ever dropping below desired', T, async (t) => {
  const h = await startFakeWorkerPool(t, { workers: 3, maxSurge: 1 });
  const before = await h.waitForPool((p) => p.ready === 3, '3 ready workers');
  let minReady = Infinity;
  h.sink.onLine = () => {
    minReady = Math.min(minReady, h.sup.readyCount());
  };
  assert.deepEqual(await h.call('POST', '/pool/reload'), { status: 202, body: { generation: 1, changed: [] } });
  const after = await h.waitForPool((p) => p.rollout === null && p.ready === 3 && p.workers.length === 3 && p.workers.every((w) => w.generation === 1), 'generation 1 everywhere');
  await waitFor(() => h.sink.events('worker.exit').length === 3, { timeoutMs: 5_000, what: 'the 3 old workers to be reaped' });
  assert.ok(minReady >= 3, `ready dropped to ${minReady} during the reload`);
  const oldPids = before.workers.map((w) => w.pid);
  assert.ok(after.workers.every((w) => !oldPids.includes(w.pid)));
  // Each old worker was drained only after its replacement in the same slot was ready.
  for (const w of before.workers) {
    const drainAt = h.sink.lines.findIndex((l) => l.event === 'worker.drain' && l['workerPid'] === w.pid);
    const readyAt = h.sink.lines.findIndex((l) => l.event === 'worker.ready' && l['slot'] === w.slot && l['generation'] === 1);
    assert.ok(readyAt >= 0 && drainAt > readyAt, `slot ${w.slot}: drain at line ${drainAt}, replacement ready at ${readyAt}`);
  }
  assert.ok(h.sink.events('worker.exit').every((e) => e['reason'] === 'reload' && e['code'] === 0));
});

test('workers are recycled after maxRequests, replacement first', T, async (t) => {
  const h = await startFakeWorkerPool(t, { workers: 1, maxRequests: 10, maxRequestsJitter: 0 }, { FAKE_WORKER_HANDLED_PER_BEAT: '5' });
  const first = await h.waitForPool((p) => p.ready === 1, '1 ready worker');
  await h.waitForPool((p) => p.workers.some((w) => w.state === 'ready' && w.pid !== first.workers[0]?.pid), 'a replacement worker');
  const drain = h.sink.events('worker.drain', (l) => l['workerPid'] === first.workers[0]?.pid)[0];
  assert.equal(drain?.['reason'], 'recycle-requests');
  const iDrain = h.sink.lines.indexOf(drain!);
  const iReady = h.sink.lines.findIndex((l) => l.event === 'worker.ready' && l['workerPid'] !== first.workers[0]?.pid);
  assert.ok(iReady >= 0 && iReady < iDrain, 'the old worker drained before its replacement was ready');
});

test('forked workers do not inherit the admin token or any other M2POOL_* variable of the supervisor', { timeout: 20_000 }, async (t) => {
  const saved = { token: process.env['M2POOL_ADMIN_TOKEN'], metrics: process.env['M2POOL_METRICS_TOKEN'] };
  process.env['M2POOL_ADMIN_TOKEN'] = 'a-token-of-24-characters';
  process.env['M2POOL_METRICS_TOKEN'] = 'a-metrics-token-of-24-ch';
  t.after(() => {
    for (const [k, v] of [['M2POOL_ADMIN_TOKEN', saved.token], ['M2POOL_METRICS_TOKEN', saved.metrics]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  const h = await startFakeWorkerPool(t, { workers: 1 });
  await h.waitForPool((p) => p.ready === 1, '1 ready worker');
  const start = (await h.workerEvents()).find((e) => e.event === 'start');
  assert.deepEqual(start?.['m2poolEnv'], ['M2POOL_POOL_MAX_WORKERS', 'M2POOL_WORKER_CONFIG', 'M2POOL_WORKER_GENERATION', 'M2POOL_WORKER_SLOT']);
});
