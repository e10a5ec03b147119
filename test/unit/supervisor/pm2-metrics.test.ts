import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pm2MetricsOf, reportPm2Metrics, type Pm2MetricsTimers } from '../../../src/supervisor/control/pm2-metrics';
import type { PoolSnapshot, PoolWorkerView } from '../../../src/supervisor/control/pool-snapshot';
import { FakePm2Process } from '../../helpers/fake-pm2-process';

type Worker = Pick<PoolWorkerView, 'slot' | 'pid' | 'handled' | 'inFlight' | 'restarts'>;

function snapshot(workers: Worker[], extra: { desired?: number; generation?: number; breaker?: PoolSnapshot['breaker'] } = {}): PoolSnapshot {
  // Only the fields pm2MetricsOf reads; the rest of the document does not matter here.
  return { ready: workers.length, desired: extra.desired ?? workers.length, generation: extra.generation ?? 0, workers, breaker: extra.breaker ?? [] } as unknown as PoolSnapshot;
}

test('the metrics: ready/desired workers, req/s from the increase of handled per worker, in flight, restarts per slot', () => {
  const first = pm2MetricsOf(snapshot([{ slot: 0, pid: 10, handled: 500, inFlight: 1, restarts: 0 }]), undefined, 0);
  assert.equal(first.data['req/s']?.value, 0, 'no rate before a second sample');
  const snap = snapshot(
    [
      { slot: 0, pid: 10, handled: 900, inFlight: 2, restarts: 1 },
      { slot: 1, pid: 11, handled: 100, inFlight: 3, restarts: 2 },
      // a replacement booting in slot 1 beside its old worker: the slot's restarts count once
      { slot: 1, pid: 12, handled: 0, inFlight: 0, restarts: 2 },
    ],
    { desired: 3, generation: 4, breaker: [{ slot: 2, open: true, failures: 5, restarts: 7, nextSpawnInMs: null, lastExit: null }] },
  );
  const m = pm2MetricsOf(snap, first.handled, 2_000);
  assert.deepEqual(m.data, {
    'ready workers': { value: 3 },
    'desired workers': { value: 3 },
    'req/s': { value: 250, unit: 'req/s' }, // (900 - 500) + 100 new, over 2 s
    'in flight': { value: 5 },
    'worker restarts': { value: 10 },
    generation: { value: 4 },
  });
  assert.deepEqual([...m.handled], [[10, 900], [11, 100], [12, 0]]);
});

function fakeTimers(): Pm2MetricsTimers & { tick(ms: number): void; running: number } {
  let now = 0;
  let fn: (() => void) | undefined;
  const t = {
    running: 0,
    now: () => now,
    setInterval: (f: () => void) => {
      fn = f;
      t.running += 1;
      return {};
    },
    clearInterval: () => {
      fn = undefined;
      t.running -= 1;
    },
    tick: (ms: number) => {
      now += ms;
      fn?.();
    },
  };
  return t;
}

test('under pm2: sent as axm:monitor at once and every interval, until stopped', () => {
  const proc = new FakePm2Process({ pm_id: '0' });
  const timers = fakeTimers();
  let handled = 0;
  const stop = reportPm2Metrics({ snapshot: () => snapshot([{ slot: 0, pid: 10, handled, inFlight: 0, restarts: 0 }]) }, proc, 2_000, timers);
  handled = 300;
  timers.tick(2_000);
  assert.equal(proc.sent.length, 2);
  assert.deepEqual(proc.sent[1], {
    type: 'axm:monitor',
    data: { 'ready workers': { value: 1 }, 'desired workers': { value: 1 }, 'req/s': { value: 150, unit: 'req/s' }, 'in flight': { value: 0 }, 'worker restarts': { value: 0 }, generation: { value: 0 } },
  });
  stop();
  timers.tick(2_000);
  assert.equal(proc.sent.length, 2, 'nothing after stop');
  assert.equal(timers.running, 0);
});

test('outside pm2 (no pm_id, or no IPC channel) nothing is sent and no timer runs', () => {
  for (const proc of [new FakePm2Process({}), new FakePm2Process({ pm_id: '0' }, false)]) {
    const timers = fakeTimers();
    reportPm2Metrics({ snapshot: () => snapshot([]) }, proc, 2_000, timers)();
    assert.deepEqual(proc.sent, []);
    assert.equal(timers.running, 0);
  }
});
