/**
 * The autoscaler wired into a supervisor with a fake clock and fake workers: heartbeats in → `setDesired` with
 * source `autoscale` out; manual scaling refused while it is on (API, signals); a reload retunes or stops it; off
 * means no timer. Its signal helpers (queue-wait p95 from histogram deltas, machine CPU) are checked on their own.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { CpuInfo } from 'node:os';
import { AUTOSCALE_DEFAULTS } from '../../../src/config/autoscale';
import { DispatcherStats, dispatcherSnapshot } from '../../../src/dispatch/stats';
import { Autoscaler } from '../../../src/supervisor/autoscaling/autoscaler';
import { registerPm2Actions } from '../../../src/supervisor/control/pm2-actions';
import { cpuMeter } from '../../../src/supervisor/autoscaling/machine-cpu';
import { PoolState } from '../../../src/supervisor/arbiter/pool-state';
import { queueWaitQuantileMs, queueWaitTotals } from '../../../src/supervisor/dispatcher-child/queue-wait';
import { formatStatus } from '../../../src/cli/status-format';
import { FakePm2Process } from '../../helpers/fake-pm2-process';
import { testConfig } from '../../helpers/supervisor-config';
import type { FakeChild } from '../../helpers/supervisor-fake-child';
import { startFakeSupervisor } from '../../helpers/supervisor-fake-pool';
import { FakeClock } from '../../helpers/supervisor-fake-clock';
import { LogSink } from '../../helpers/supervisor-log-sink';

const INTERVAL_MS = 1_000;
const CAP = 4;
const AUTOSCALE = { min: 1, max: 4, intervalMs: INTERVAL_MS, scaleDownWindowMs: 3_000, flapPenaltyMs: 0 };

function setup(t: TestContext, overrides: Record<string, unknown> = {}, reload?: Record<string, unknown>) {
  const config = testConfig({ workers: 1, autoscale: AUTOSCALE, ...overrides });
  return startFakeSupervisor(t, config, { cpu: () => 0.1, ...(reload === undefined ? {} : { reloadConfig: () => testConfig(reload) }) }, 'debug');
}

/** Ready every new child with the in-flight cap, then run `ms` with every ready worker beating `inFlight`. */
function load(clock: FakeClock, children: readonly FakeChild[], inFlight: number, ms: number): void {
  for (let t = 0; t < ms; t += 100) {
    for (const c of children) {
      if (c.exited) continue;
      if (!c.isReady) c.ready(CAP);
      c.heartbeat({ inFlight, eventLoopUtilization: 0.3 });
    }
    clock.advance(100);
  }
}

test('heartbeats drive setDesired: a saturated pool grows (at most ×2 a step) to max, an idle one returns to min after the window', (t) => {
  const { clock, spawner, sink, sup } = setup(t);
  load(clock, spawner.children, CAP, INTERVAL_MS);
  assert.equal(sup.desired, 1, 'the first interval only settles (no sample of a stable ready set yet)');
  assert.equal(sink.events('pool.autoscale', (l) => l['reason'] === 'settling').length, 1);
  load(clock, spawner.children, CAP, INTERVAL_MS);
  assert.equal(sup.desired, 2, 'full in-flight slots: utilisation 1 / 0.7 → ×2 (bounded)');
  const up = sink.events('pool.autoscale', (l) => l['direction'] === 'up')[0];
  assert.deepEqual([up?.['from'], up?.['desired'], up?.['reason'], up?.['utilization'], up?.['eventLoopUtilization'], up?.['cpuUtilization']], [1, 2, 'utilization', 1, 0.3, 0.1]);
  assert.equal(up?.['level'], 30, 'a change is logged at info');
  for (let i = 0; i < 8 && sup.desired < 4; i++) load(clock, spawner.children, CAP, INTERVAL_MS);
  assert.equal(sup.desired, 4);
  load(clock, spawner.children, CAP, 4 * INTERVAL_MS);
  assert.equal(sup.desired, 4, 'never above max');
  assert.equal(spawner.live().length, 4);
  const scales = sink.events('pool.scale');
  assert.ok(scales.every((l) => l['source'] === 'autoscale'), 'through setDesired, like every other way of scaling');
  assert.ok(scales.every((l) => Number(l['to']) <= 2 * Number(l['from'])), scales.map((l) => `${String(l['from'])}->${String(l['to'])}`).join(' '));

  load(clock, spawner.children, 0, 2 * INTERVAL_MS);
  assert.equal(sup.desired, 4, 'held within the stabilisation window');
  assert.ok(sink.events('pool.autoscale', (l) => l['reason'] === 'stabilizing' && l['level'] === 20).length > 0, 'holds are logged at debug');
  load(clock, spawner.children, 0, 3 * INTERVAL_MS);
  assert.equal(sup.desired, 1, 'back to min once the whole window agreed');
  const down = sink.events('pool.autoscale', (l) => l['direction'] === 'down');
  assert.deepEqual(down.map((l) => [l['from'], l['desired'], l['level']]), [[4, 1, 30]], "one step down to the window's highest recommendation");
  const view = sup.snapshot().autoscale;
  assert.deepEqual([view?.min, view?.max, view?.last?.desired], [1, 4, 1]);
});

test('no scale-up while the last step still boots: the ready workers look busier than the pool will be', (t) => {
  const { clock, spawner, sup, sink } = setup(t);
  load(clock, spawner.children, CAP, 2 * INTERVAL_MS);
  assert.equal(sup.desired, 2);
  const first = spawner.children[0];
  for (let ms = 0; ms < 3 * INTERVAL_MS; ms += 100) {
    first?.heartbeat({ inFlight: CAP }); // the second worker boots and never gets ready
    clock.advance(100);
  }
  assert.equal(sup.desired, 2);
  assert.ok(sink.events('pool.autoscale', (l) => l['reason'] === 'below-desired').length >= 2);
});

test('steady load within the tolerance band changes nothing', (t) => {
  const { clock, spawner, sink, sup } = setup(t, { workers: 2, autoscale: { ...AUTOSCALE, min: 2 } });
  // 2 workers × cap 4 at 70%: 2.8 in flight each; the heartbeats alternate 3 and 3 (75%, inside ±10%).
  load(clock, spawner.children, 3, 10 * INTERVAL_MS);
  assert.equal(sup.desired, 2);
  assert.equal(sink.events('pool.scale').length, 0);
  assert.ok(sink.events('pool.autoscale', (l) => l['reason'] === 'within-tolerance').length >= 9);
});

test('manual scaling is refused while autoscaling is on, naming the config keys; signals and pm2 triggers get the same answer', (t) => {
  const { clock, sink, sup } = setup(t);
  const r = sup.scale(3);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.status, 409);
  assert.match(!r.ok ? r.error : '', /autoscaling is on \(autoscale\.min\.\.autoscale\.max = 1\.\.4\).*change autoscale\.min\/autoscale\.max and reload/);
  sup.recordIntent('scale-up', 'SIGTTIN');
  clock.advance(0);
  assert.match(String(sink.events('pool.scale', (l) => l['outcome'] === 'rejected')[0]?.['error']), /autoscaling is on/);
  const proc = new FakePm2Process({ pm_id: '0' });
  const remove = registerPm2Actions(sup, proc);
  proc.sent.length = 0;
  proc.emit('message', { msg: 'scale', opts: '+1', name: 'app' }); // pm2 trigger app scale +1
  assert.deepEqual(proc.sent, [{ type: 'axm:reply', data: { return: { success: false, error: !r.ok ? r.error : '' }, action_name: 'scale' } }]);
  remove();
  assert.equal(sup.desired, 1);
});

test('a reload retunes the bounds at once, and one without autoscale turns it off and manual scaling back on', async (t) => {
  const { clock, spawner, sup } = setup(t, {}, { workers: 1, autoscale: { ...AUTOSCALE, min: 2, max: 3 } });
  load(clock, spawner.children, 0, INTERVAL_MS);
  assert.equal((await sup.reload()).ok, true);
  assert.equal(sup.desired, 2, 'clamped into the new bounds by the reload itself');
  assert.deepEqual([sup.snapshot().autoscale?.min, sup.snapshot().autoscale?.max], [2, 3]);

  const off = setup(t, {}, { workers: 1 });
  assert.equal(off.sup.scale(2).ok, false);
  assert.equal((await off.sup.reload()).ok, true);
  assert.equal(off.sup.snapshot().autoscale, null);
  assert.deepEqual(off.sup.scale(2), { ok: true, previous: 1, desired: 2 });
});

test('no scale-up while a rolling reload is under way', async (t) => {
  const { clock, spawner, sup, sink } = setup(t, {}, { workers: 1, autoscale: AUTOSCALE });
  load(clock, spawner.children, 0, INTERVAL_MS);
  const old = spawner.children[0];
  assert.equal((await sup.reload()).ok, true);
  // The replacement boots (never ready here) while the old worker is saturated.
  for (let ms = 0; ms < 2 * INTERVAL_MS; ms += 100) {
    old?.heartbeat({ inFlight: CAP });
    clock.advance(100);
  }
  assert.notEqual(sup.snapshot().rollout, null);
  assert.equal(sup.desired, 1);
  assert.ok(sink.events('pool.autoscale', (l) => l['reason'] === 'reload').length >= 1);
});

test('off: no timer, no decision, manual scaling works', () => {
  const clock = new FakeClock();
  const sink = new LogSink();
  const calls: number[] = [];
  const autoscaler = new Autoscaler({
    clock,
    log: sink.logger('debug'),
    notify: () => undefined,
    state: Object.assign(new PoolState(1), { phase: 'running' as const }),
    setDesired: (n) => {
      calls.push(n);
      return { ok: true, previous: 1, desired: n };
    },
    queueWait: () => undefined,
    crashLooping: () => false,
    cpu: () => undefined,
  });
  autoscaler.configure(undefined);
  assert.equal(clock.pending, 0);
  autoscaler.configure({ ...AUTOSCALE_DEFAULTS, ...AUTOSCALE, min: 2 });
  assert.equal(clock.pending, 1, 'one timer while on');
  clock.advance(INTERVAL_MS);
  assert.deepEqual(calls, [], 'no ready worker reported a capacity: nothing to decide on');
  autoscaler.configure(undefined);
  assert.equal(clock.pending, 0, 'turned off: the timer is gone');
});

test('queue-wait p95 comes from the delta of the pushed histogram, interpolated within its bucket', () => {
  const stats = new DispatcherStats();
  const gauges = { queueDepth: 0, creditInUse: 0, creditCapacity: 0, workers: 1, mongrel2Ready: 1 };
  for (let i = 0; i < 100; i++) stats.dispatchedTo('0', 0.2); // an old burst: (0.1, 0.5]
  const before = queueWaitTotals(dispatcherSnapshot(stats, gauges));
  assert.ok(before !== undefined);
  for (let i = 0; i < 100; i++) stats.dispatchedTo('0', 0.0002); // this interval: all in (0.0001, 0.0005]
  const after = queueWaitTotals(dispatcherSnapshot(stats, gauges));
  assert.ok(after !== undefined);
  const p95 = queueWaitQuantileMs(before, after);
  assert.ok(p95 !== undefined && p95 > 0.1 && p95 <= 0.5, `the old burst is not in this interval: ${p95}`);
  assert.equal(queueWaitQuantileMs(after, after), undefined, 'no request dispatched: no signal');
  assert.ok((queueWaitQuantileMs(after, before) ?? 0) > 100, 'a restarted dispatcher (lower count) counts from zero');
  assert.equal(queueWaitTotals([{ name: 'm2pool_queue_wait_seconds', type: 'histogram', values: 'x' }]), undefined, 'an invalid snapshot is no signal');
});

test('machine CPU: busy share of all cores between two reads', () => {
  const times = (busy: number, idle: number): CpuInfo => ({ model: 'x', speed: 1, times: { user: busy, nice: 0, sys: 0, idle, irq: 0 } });
  const reads = [[times(100, 100), times(100, 100)], [times(190, 110), times(130, 170)]];
  const meter = cpuMeter(() => reads.shift() ?? []);
  assert.equal(meter(), undefined);
  assert.equal(meter(), 0.6); // busy +120 of +200
});

test('status shows the autoscaler and its last decision, or that scaling is manual', (t) => {
  const { clock, spawner, sup } = setup(t);
  load(clock, spawner.children, CAP, 2 * INTERVAL_MS);
  const text = formatStatus(sup.snapshot());
  assert.match(text, /autoscale on: 1\.\.4 workers, every 1s, scale-down window 3s; manual scaling refused/);
  assert.match(text, /last decision 0s ago: up 1 -> 2 \(utilization\); utilisation 1\.00, event loop 0\.30, CPU 0\.10/);
  assert.match(formatStatus({ ...sup.snapshot(), autoscale: null }), /autoscale off: the count changes only by hand/);
});

test('queue waits of the smaller pool do not scale the pool again once a step up is ready (issue 18, item 10)', (t) => {
  const config = testConfig({ topology: 'dispatch', runDir: '/tmp/m2p-autoscale-test', workers: 1, autoscale: AUTOSCALE });
  const { clock, spawner, sink, sup } = startFakeSupervisor(t, config, { cpu: () => 0.1 }, 'debug');
  const [dispatcher] = spawner.children.filter((c) => c.request.args[0] === 'dispatcher');
  assert.ok(dispatcher !== undefined);
  const workers = (): FakeChild[] => spawner.children.filter((c) => c.request.args[0] !== 'dispatcher' && !c.exited);
  dispatcher.ready();
  const stats = new DispatcherStats();
  const gauges = { queueDepth: 0, creditInUse: 0, creditCapacity: 0, workers: 1, mongrel2Ready: 1 };
  /** The dispatcher pushes its snapshot, after `waits` more requests waited `seconds` each. */
  const push = (waits: number, seconds: number): void => {
    for (let i = 0; i < waits; i++) stats.dispatchedTo('0', seconds);
    dispatcher.emit('message', { type: 'm2pool:metrics', metrics: dispatcherSnapshot(stats, gauges) });
  };
  /** One interval: every ready worker beats `inFlight`, the dispatcher beats, then the pushes of `during` run. */
  const interval = (inFlight: number, during: () => void = () => undefined): void => {
    for (let ms = 0; ms < INTERVAL_MS; ms += 100) {
      for (const w of workers()) {
        if (!w.isReady) w.ready(CAP);
        w.heartbeat({ inFlight });
      }
      dispatcher.emit('message', { type: 'm2pool:heartbeat', inFlight: 0, handled: 0, loopLagMs: 0, rssBytes: 1, linksReady: 1, grants: {} });
      if (ms === 500) during();
      clock.advance(100);
    }
  };
  push(10, 0.0001);
  interval(CAP); // settling
  interval(CAP); // saturated: 1 → 2
  assert.equal(sup.desired, 2);
  // The dispatcher pushes every 2 s, the autoscaler decides every interval: the push after the new worker got
  // ready still holds the waits of the smaller pool (it queued: 400 ms each).
  interval(3); // the ready set changes in this interval: settling
  interval(3, () => push(40, 0.4)); // 6 of 8 slots in use: within tolerance; the old waits are no signal
  interval(3);
  interval(3, () => push(40, 0.0001));
  interval(3);
  assert.equal(sup.desired, 2, JSON.stringify(sink.events('pool.autoscale', (l) => l['direction'] === 'up').at(-1)));
  const held = sink.events('pool.autoscale', (l) => l['reason'] === 'within-tolerance');
  assert.ok(held.some((l) => l['queueWaitP95Ms'] === null), 'the delta spanning the step is dropped');
  assert.ok(held.some((l) => typeof l['queueWaitP95Ms'] === 'number' && l['queueWaitP95Ms'] < 50), 'a clean delta is a signal again');
  // And the signal still scales: real queueing in the bigger pool is acted on.
  interval(3, () => push(40, 0.4));
  assert.equal(sup.desired, 4, 'a p95 of 400 ms against a 50 ms target: up (at most ×2)');
  assert.equal(sink.events('pool.autoscale', (l) => l['direction'] === 'up').at(-1)?.['reason'], 'queue-wait');
});
