/**
 * Issue 11, finding 4: the crash-loop breaker is for slots that fail at boot. A worker killed while serving backs
 * off and comes back within seconds; a pool whose workers are all killed as they become ready never waits minutes
 * with no worker, and `/healthz` fails (with the reason) while no slot can serve. Fake clock, fake children.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { LAST_SLOT_PROBE_MS } from '../../../src/supervisor/arbiter/restart-policy';
import { testConfig } from '../../helpers/supervisor-config';
import { pumpHeartbeats, type FakeChild } from '../../helpers/supervisor-fake-child';
import { startFakeSupervisor } from '../../helpers/supervisor-fake-pool';

/** The production restart settings (the defaults), so the figures below are the ones a real pool has. */
const PRODUCTION_RESTARTS = {
  restartBackoff: { initialMs: 500, maxMs: 30_000, resetAfterMs: 10_000 },
  crashLoop: { maxFailures: 5, windowMs: 60_000, probeAfterMs: 300_000 },
};

/** A repeatable spread of jitter draws in [0, 1). */
function jitter(): () => number {
  let x = 0.37;
  return () => (x = (x * 9301 + 0.49297) % 1);
}

function setup(t: TestContext, overrides: Record<string, unknown>) {
  return startFakeSupervisor(t, testConfig({ ...PRODUCTION_RESTARTS, ...overrides }), { random: jitter() });
}

const slotOf = (c: FakeChild): number => Number(c.request.env['M2POOL_WORKER_SLOT']);
const liveOf = (spawner: { live(): FakeChild[] }, slot: number): FakeChild | undefined => spawner.live().find((c) => slotOf(c) === slot);

test('five outside kills of one serving worker: the slot is back within seconds each time, the breaker never opens', (t) => {
  const { clock, spawner, sink, sup } = setup(t, { workers: 2 });
  for (const c of spawner.children) c.ready();
  clock.advance(0);
  const backAfter: number[] = [];
  for (let kill = 0; kill < 5; kill++) {
    pumpHeartbeats(clock, spawner.children, 1_000); // it serves for a second, then the OOM killer strikes
    liveOf(spawner, 1)!.exit(null, 'SIGKILL');
    const killedAt = clock.now();
    let waited = 0;
    while (liveOf(spawner, 1) === undefined && waited < 60_000) {
      pumpHeartbeats(clock, spawner.children, 100);
      waited += 100;
    }
    const next = liveOf(spawner, 1);
    assert.ok(next !== undefined, `kill ${kill + 1}: slot 1 respawned`);
    next.ready();
    clock.advance(0);
    backAfter.push(clock.now() - killedAt);
  }
  assert.deepEqual(sink.events('slot.crashloop'), []);
  assert.ok(backAfter.every((ms) => ms <= 8_000), `slot back after ${backAfter.join(', ')} ms (backoff caps 0.5, 1, 2, 4, 8 s)`);
  const exits = sink.events('worker.exit', (l) => l['slot'] === 1);
  assert.deepEqual(exits.map((l) => [l['reason'], l['failedWhile']]), Array(5).fill(['signal', 'serving']));
  assert.equal(sup.snapshot().ready, 2);
  assert.equal(sup.isLive(), true, 'one slot still serves: healthy');
});

test('every worker killed as it becomes ready, 20 kills: never minutes with no worker, /healthz fails while none can serve', (t) => {
  const { clock, spawner, sink, sup } = setup(t, { workers: 4 });
  let kills = 0;
  let emptySince: number | null = null;
  let longestEmptyMs = 0;
  const unhealthy: string[] = [];
  for (let step = 0; step < 20_000 && kills < 20; step++) {
    for (const c of spawner.live()) {
      if (c.isReady || kills >= 20) continue;
      c.ready();
      clock.advance(0);
      c.exit(null, 'SIGKILL'); // killed the moment it reports ready
      kills += 1;
    }
    clock.advance(10);
    const h = sup.health();
    if (spawner.live().length === 0) {
      emptySince ??= clock.now();
      longestEmptyMs = Math.max(longestEmptyMs, clock.now() - emptySince);
      assert.equal(h.live, false, 'no worker ready or booting: /healthz must fail');
      if (!h.live) unhealthy.push(h.reason);
    } else {
      emptySince = null;
      assert.equal(h.live, true, 'a worker is booting or ready: the pool heals itself');
    }
  }
  assert.equal(kills, 20);
  assert.deepEqual(sink.events('slot.crashloop'), [], 'serving failures never open a breaker');
  assert.ok(unhealthy.length > 0, 'the pool was seen with no worker at least once');
  assert.ok(unhealthy.every((r) => r === 'no-worker-can-serve'));
  assert.ok(longestEmptyMs < 30_000, `no worker for ${longestEmptyMs} ms (backoff is capped at 30 s)`);
  // Once the kills stop the pool is whole again within the largest backoff.
  for (let waited = 0; waited <= 31_000 && sup.snapshot().ready < 4; waited += 100) {
    for (const c of spawner.live()) if (!c.isReady) c.ready();
    pumpHeartbeats(clock, spawner.children, 100);
  }
  assert.equal(sup.snapshot().ready, 4);
  assert.equal(sup.isLive(), true);
});

test('healthz says why when every breaker is open, and the last slot probes after LAST_SLOT_PROBE_MS, not probeAfterMs', (t) => {
  const { clock, spawner, sink, sup } = setup(t, { workers: 2 });
  for (let i = 0; i < 40 && sink.events('slot.crashloop').length < 2; i++) {
    for (const c of spawner.live()) c.exit(4); // app fails to load: boot failures
    clock.run(1_000, 100);
  }
  assert.deepEqual(sink.events('slot.crashloop').map((l) => l['slot']).sort(), [0, 1]);
  const h = sup.health();
  assert.equal(h.live, false);
  assert.equal(!h.live && h.reason, 'no-worker-can-serve');
  assert.match(!h.live ? h.detail : '', /2 have an open crash-loop breaker/);
  const slots = !h.live ? h.slots ?? [] : [];
  assert.deepEqual(slots.map((s) => s.waiting), ['breaker', 'breaker']);
  const due = slots.map((s) => s.nextSpawnInMs ?? -1).sort((a, b) => a - b);
  assert.ok(due[0]! <= LAST_SLOT_PROBE_MS, `the last slot probes within ${LAST_SLOT_PROBE_MS} ms, got ${due[0]}`);
  assert.ok(due[1]! > 200_000, `the other waits the full probeAfterMs, got ${due[1]}`);
  const spawned = spawner.children.length;
  clock.run(LAST_SLOT_PROBE_MS, 100);
  assert.equal(spawner.children.length, spawned + 1, 'one probe worker, not one per slot');
  assert.equal(sup.isLive(), true, 'a probe is booting');
  spawner.live()[0]!.ready();
  clock.advance(0);
  assert.equal(sink.events('slot.recovered').length, 1);
  assert.equal(sup.snapshot().ready, 1);
});

test('boot failures separated by a successful boot do not add up to a breaker', (t) => {
  const { clock, spawner, sink } = setup(t, { workers: 1, crashLoop: { maxFailures: 3, windowMs: 60_000, probeAfterMs: 300_000 } });
  for (let round = 0; round < 4; round++) {
    liveOf(spawner, 0)!.exit(1); // fails at boot twice…
    clock.run(2_000, 100);
    liveOf(spawner, 0)!.exit(1);
    clock.run(3_000, 100);
    liveOf(spawner, 0)!.ready(); // …then boots
    clock.advance(0);
    pumpHeartbeats(clock, spawner.children, 12_000);
    liveOf(spawner, 0)!.exit(null, 'SIGKILL');
    clock.run(1_000, 100);
  }
  assert.deepEqual(sink.events('slot.crashloop'), []);
});
