import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerHandle, drainReasonOf, readyAtOf } from '../../../src/supervisor/arbiter/worker-handle';
import { FakeChild } from '../../helpers/supervisor-fake-child';

const LIMITS = { maxHandled: Infinity, maxRssBytes: Infinity };

test('a worker phase carries its own fields and, once left, the phase it came from', () => {
  const child = new FakeChild({ slot: 0, generation: 0, modulePath: 'x', args: [], env: {} });
  const seen: string[] = [];
  const w = new WorkerHandle(0, 0, child, 100, LIMITS, (_w, s) => seen.push(s));
  assert.deepEqual(w.phase, { state: 'booting' });
  w.onMessage({ type: 'm2pool:ready', pid: 1, endpoints: 1 }, 150);
  assert.deepEqual(w.phase, { state: 'ready', readyAt: 150, recycleReason: undefined });
  w.beginDrain('scale-down', 200, 1_000, 1_300, 'drain-timeout');
  const draining = w.phase;
  assert.equal(draining.state, 'draining');
  if (draining.state !== 'draining') return;
  assert.deepEqual([draining.reason, draining.startedAt, draining.killAt, draining.killReason, draining.from.state], ['scale-down', 200, 1_300, 'drain-timeout', 'ready']);
  w.hurry(1_250, 'shutdown-timeout');
  w.hurry(1_400, 'fast-stop'); // never pushed back
  assert.deepEqual([draining.killAt, draining.killReason], [1_250, 'shutdown-timeout']);
  w.markExited(0, null, 400);
  const exited = w.phase;
  assert.equal(exited.state, 'exited');
  assert.deepEqual([readyAtOf(exited), drainReasonOf(exited), w.exit], [150, 'scale-down', { code: 0, signal: null, at: 400 }]);
  assert.deepEqual(seen, ['ready', 'draining', 'exited']);
  assert.deepEqual(child.sent, [{ type: 'm2pool:shutdown', drainTimeoutMs: 1_000 }]);
});

test('a worker that dies while booting never was ready; hurry does nothing outside draining', () => {
  const w = new WorkerHandle(1, 0, new FakeChild({ slot: 1, generation: 0, modulePath: 'x', args: [], env: {} }), 0, LIMITS);
  w.hurry(10, 'fast-stop');
  assert.deepEqual(w.phase, { state: 'booting' });
  w.markExited(4, null, 50);
  assert.deepEqual([w.readyAt, w.drainReason, w.live], [null, undefined, false]);
});
