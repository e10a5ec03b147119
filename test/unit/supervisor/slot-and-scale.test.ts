import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lowestFreeSlot, newSlot, pickScaleDownSlots, recycleThreshold, type SlotState } from '../../../src/supervisor/arbiter/slot';
import { parseScaleBody, parseScaleText } from '../../../src/supervisor/arbiter/scale-request';
import { WorkerHandle } from '../../../src/supervisor/arbiter/worker-handle';
import { FakeChild } from '../../helpers/supervisor-fake-child';
import { formatDuration, formatStatus } from '../../../src/cli/status-format';
import { buildSnapshot } from '../../../src/supervisor/control/pool-snapshot';

function slotWith(n: number, state: 'none' | 'booting' | 'ready', inFlight = 0): SlotState {
  const s = newSlot(n, 0);
  if (state === 'none') return s;
  const child = new FakeChild({ slot: n, generation: 0, modulePath: 'x', args: [], env: {} });
  const w = new WorkerHandle(n, 0, child, 0, { maxHandled: Infinity, maxRssBytes: Infinity });
  if (state === 'ready') {
    w.onMessage({ type: 'm2pool:ready', pid: 1, endpoints: 1 }, 1);
    w.onMessage({ type: 'm2pool:heartbeat', inFlight, handled: 0, loopLagMs: 0, rssBytes: 0 }, 2);
  }
  s.current = w;
  return s;
}

test('scale-down order: empty slots, then booting, then ready by in-flight (idle first), ties by highest slot', () => {
  const slots = [slotWith(0, 'ready', 3), slotWith(1, 'ready', 0), slotWith(2, 'booting'), slotWith(3, 'ready', 0), slotWith(4, 'none'), slotWith(5, 'ready', 1)];
  assert.deepEqual(pickScaleDownSlots(slots, 6).map((s) => s.slot), [4, 2, 3, 1, 5, 0]);
  assert.deepEqual(pickScaleDownSlots(slots, 2).map((s) => s.slot), [4, 2]);
  assert.deepEqual(pickScaleDownSlots(slots, 0), []);
});

test('new slots take the lowest number not assigned and not still draining, within maxWorkers', () => {
  assert.equal(lowestFreeSlot(new Set([0, 1]), new Set(), 8), 2);
  assert.equal(lowestFreeSlot(new Set([0, 2]), new Set([1]), 8), 3);
  assert.equal(lowestFreeSlot(new Set([0, 2]), new Set([1, 3]), 4), 1, 'reuses a draining slot rather than exceed the limit');
});

test('recycle threshold: off at 0, jitter in [0, jitter]', () => {
  assert.equal(recycleThreshold(0, 10, () => 0.5), Infinity);
  assert.equal(recycleThreshold(100, 10, () => 0), 100);
  assert.equal(recycleThreshold(100, 10, () => 1 - Number.EPSILON), 110);
  assert.equal(recycleThreshold(100, 0, () => 0.9), 100);
});

test('scale text: N absolute, +N/-N relative, anything else refused', () => {
  assert.deepEqual(parseScaleText('4'), { ok: true, target: 4 });
  assert.deepEqual(parseScaleText('+2'), { ok: true, target: { delta: 2 } });
  assert.deepEqual(parseScaleText('-1'), { ok: true, target: { delta: -1 } });
  assert.deepEqual(parseScaleText('0'), { ok: true, target: 0 });
  for (const bad of ['', '+0', 'four', '1.5', '--1', '4x']) assert.equal(parseScaleText(bad).ok, false, bad);
});

test('scale body: JSON numbers only, exactly one field', () => {
  assert.deepEqual(parseScaleBody({ workers: 0 }), { ok: true, target: 0 });
  assert.deepEqual(parseScaleBody({ delta: 3 }), { ok: true, target: { delta: 3 } });
  for (const bad of [null, 'x', [], {}, { workers: '+1' }, { workers: -2 }, { delta: 0.5 }, { workers: 1, delta: 1 }, { n: 1 }]) {
    assert.equal(parseScaleBody(bad).ok, false, JSON.stringify(bad));
  }
});

test('status text lists workers and open breakers', () => {
  const ready = slotWith(0, 'ready', 2);
  const broken = newSlot(1, 0);
  broken.history = { attempts: 5, failures: [900, 950, 990], breakerOpenedAt: 990 };
  broken.restarts = 3;
  broken.lastExit = { reason: 'app-load-error', code: 4, signal: null, at: 990 };
  const snap = buildSnapshot({
    now: 1000,
    topology: 'direct',
    dispatcher: null,
    remoteDispatcher: null,
    grants: undefined,
    notReadyReason: null,
    phase: 'running',
    desired: 2,
    generation: 0,
    limits: { minReady: 1, minWorkers: 1, maxWorkers: 4 },
    rollout: null,
    crashWindowMs: 10_000,
    spawnDueAt: (s) => (s === broken ? 990 + 60_000 : s.nextSpawnAt),
    workers: [ready.current!],
    slots: [ready, broken],
  });
  assert.deepEqual(snap.breaker.map((b) => [b.slot, b.open, b.failures, b.restarts, b.nextSpawnInMs]), [[1, true, 3, 3, 59_990]]);
  const text = formatStatus(snap);
  assert.match(text, /desired 2, ready 1/);
  assert.match(text, /^0 +\d+ +ready +0 +0 +2 /m);
  assert.match(text, /^1 +OPEN +3 +3 +in 59990 ms +app-load-error \(code 4\) 0s ago$/m);
  assert.match(text, /one probe at NEXT-SPAWN/);
  assert.equal(formatDuration(65_000), '1m05s');
  assert.equal(formatDuration(3 * 3600_000 + 60_000), '3h01m');
});
