/**
 * The autoscaler's decision rule over recorded load curves, with a fake clock (one sample per interval):
 * step, ramp, spike, oscillation, crash loop, bounds, reload, guards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AUTOSCALE_DEFAULTS,
  decideAutoscale,
  INITIAL_AUTOSCALE_STATE,
  type AutoscaleConfig,
  type AutoscaleDecision,
  type AutoscaleSample,
  type AutoscaleState,
} from '../../../src/supervisor/autoscaling/autoscale-policy';

const INTERVAL_MS = 5_000;
const CAPACITY = 10;
const CONFIG: AutoscaleConfig = { ...AUTOSCALE_DEFAULTS, min: 1, max: 8, scaleDownWindowMs: 60_000, flapPenaltyMs: 30_000 };

/** What a load of `demand` concurrent requests looks like to a pool of `workers` (capped by its capacity). */
type Step = { readonly demand: number } & Partial<Omit<AutoscaleSample, 'now' | 'desired' | 'readyWorkers' | 'inFlight'>>;

/** Run the policy over a curve; the pool becomes what it decides at once (workers boot within an interval). */
function simulate(curve: readonly Step[], config: AutoscaleConfig = CONFIG, start = 1): { sizes: number[]; decisions: AutoscaleDecision[] } {
  let state: AutoscaleState = INITIAL_AUTOSCALE_STATE;
  let workers = start;
  const sizes: number[] = [];
  const decisions: AutoscaleDecision[] = [];
  curve.forEach((step, i) => {
    const { demand, ...rest } = step;
    const sample: AutoscaleSample = {
      now: i * INTERVAL_MS,
      desired: workers,
      readyWorkers: workers,
      inFlight: Math.min(demand, workers * CAPACITY),
      capacityPerWorker: CAPACITY,
      largestWorkerRssBytes: 60 << 20,
      reloading: false,
      crashLooping: false,
      ...rest,
    };
    const out = decideAutoscale(config, state, sample);
    state = out.state;
    decisions.push(out.decision);
    workers = out.decision.desired;
    sizes.push(workers);
  });
  return { sizes, decisions };
}

const repeat = (n: number, step: Step): Step[] => Array.from({ length: n }, () => step);
const changes = (sizes: readonly number[]): number => sizes.filter((s, i) => i > 0 && s !== sizes[i - 1]).length;

test('a load step gets the workers it needs within a few intervals, bounded per step, and no more', () => {
  // 28 in flight at 70% of 10 each needs 4 workers.
  const { sizes, decisions } = simulate([...repeat(2, { demand: 2 }), ...repeat(6, { demand: 28 })], CONFIG, 1);
  assert.deepEqual(sizes.slice(0, 2), [1, 1]);
  assert.equal(sizes[2], 2, 'at most double per step');
  assert.equal(sizes.at(-1), 4);
  assert.ok(decisions.slice(2).some((d) => d.direction === 'up' && d.reason === 'utilization'));
});

test('when the load stops the pool returns to min only after the stabilisation window', () => {
  const { sizes, decisions } = simulate([...repeat(12, { demand: 28 }), ...repeat(30, { demand: 0 })], CONFIG, 4);
  const quietFrom = 12;
  const windowIntervals = CONFIG.scaleDownWindowMs / INTERVAL_MS;
  // Recommendations of the busy period are still in the window: no scale-down until they age out.
  assert.ok(sizes.slice(quietFrom, quietFrom + windowIntervals - 1).every((s) => s === 4), `held for the window: ${sizes.join(',')}`);
  assert.equal(sizes.at(-1), 1);
  assert.ok(decisions.some((d) => d.reason === 'stabilizing'));
});

test('a ramp scales up step by step and never past max', () => {
  const ramp = Array.from({ length: 20 }, (_, i) => ({ demand: i * 8 }));
  const { sizes } = simulate(ramp, CONFIG, 1);
  for (let i = 1; i < sizes.length; i++) assert.ok((sizes[i] ?? 0) >= (sizes[i - 1] ?? 0), `monotonic: ${sizes.join(',')}`);
  assert.equal(Math.max(...sizes), CONFIG.max);
});

test('a one-interval spike adds workers at once but they stay for the window, not a flap', () => {
  const { sizes } = simulate([...repeat(3, { demand: 5 }), { demand: 70 }, ...repeat(8, { demand: 5 })], CONFIG, 1);
  assert.ok((sizes[3] ?? 0) > 1, 'the spike scaled up at once');
  assert.ok(sizes.slice(4).every((s) => s === sizes[3]), `no scale-down right after: ${sizes.join(',')}`);
});

test('an oscillating load changes the size at most a few times, not every period', () => {
  const curve = Array.from({ length: 60 }, (_, i) => ({ demand: Math.floor(i / 3) % 2 === 0 ? 30 : 5 }));
  const { sizes } = simulate(curve, CONFIG, 1);
  assert.ok(changes(sizes) <= 3, `${changes(sizes)} changes: ${sizes.join(',')}`);
});

test('steady load inside the tolerance band causes no scale event', () => {
  // 2 workers at 14 in flight = exactly the 70% target; ±10% is tolerated.
  const { sizes, decisions } = simulate(repeat(30, { demand: 14 }), CONFIG, 2);
  assert.equal(changes(sizes), 0);
  assert.ok(decisions.every((d) => d.reason === 'within-tolerance'));
});

test('a crash loop causes no scale-up storm, and no scale-down while the pool is below desired', () => {
  const { sizes, decisions } = simulate(repeat(10, { demand: 80, crashLooping: true }), CONFIG, 2);
  assert.ok(sizes.every((s) => s === 2), sizes.join(','));
  assert.ok(decisions.every((d) => d.reason === 'crash-loop'));
  let state = INITIAL_AUTOSCALE_STATE;
  for (let i = 0; i < 30; i++) {
    const out = decideAutoscale(CONFIG, state, { now: i * INTERVAL_MS, desired: 4, readyWorkers: 2, inFlight: 0, capacityPerWorker: CAPACITY, largestWorkerRssBytes: 0, reloading: false, crashLooping: false });
    state = out.state;
    assert.equal(out.decision.desired, 4);
  }
});

test('min and max bound every decision, and a size outside them is brought back', () => {
  const config = { ...CONFIG, min: 2, max: 3 };
  const { sizes } = simulate([...repeat(5, { demand: 200 }), ...repeat(40, { demand: 0 })], config, 1);
  assert.equal(sizes[0], 2, 'below min: up to min first');
  assert.ok(sizes.every((s) => s >= 2 && s <= 3), sizes.join(','));
  const above = decideAutoscale(config, INITIAL_AUTOSCALE_STATE, { now: 0, desired: 6, readyWorkers: 6, inFlight: 50, capacityPerWorker: CAPACITY, largestWorkerRssBytes: 0, reloading: false, crashLooping: false });
  assert.deepEqual([above.decision.desired, above.decision.reason], [3, 'max']);
});

test('nothing changes while a rolling reload runs', () => {
  const { sizes, decisions } = simulate(repeat(6, { demand: 80, reloading: true }), CONFIG, 2);
  assert.ok(sizes.every((s) => s === 2));
  assert.ok(decisions.every((d) => d.reason === 'reload'));
});

test('guards: saturated CPUs, idle event loops and the memory cap stop a scale-up', () => {
  assert.equal(simulate([{ demand: 40, cpuUtilization: 0.95 }], CONFIG, 2).decisions[0]?.reason, 'cpu-saturated');
  assert.equal(simulate([{ demand: 40, eventLoopUtilization: 0.05 }], { ...CONFIG, minBusyEventLoop: 0.2 }, 2).decisions[0]?.reason, 'event-loop-idle');
  assert.equal(simulate([{ demand: 40, eventLoopUtilization: 0.05 }], CONFIG, 2).decisions[0]?.direction, 'up', 'the guard is off by default');
  // 3 saturated workers want 5; the cap fits 4 workers of 60 MiB.
  const capped = simulate([{ demand: 80 }], { ...CONFIG, memoryCapBytes: 4 * (60 << 20) }, 3).decisions[0];
  assert.deepEqual([capped?.desired, capped?.reason], [4, 'memory-cap']);
});

test('queue wait drives a scale-up even when utilisation looks fine', () => {
  const d = simulate([{ demand: 14, queueWaitP95Ms: 200 }], CONFIG, 2).decisions[0];
  assert.deepEqual([d?.direction, d?.reason], ['up', 'queue-wait']);
});

test('no scale-down within the flap penalty after a scale-up', () => {
  const config = { ...CONFIG, scaleDownWindowMs: 5_000, flapPenaltyMs: 30_000 };
  const { decisions } = simulate([{ demand: 5 }, { demand: 40 }, ...repeat(3, { demand: 1 })], config, 1);
  assert.ok(decisions.slice(2).some((d) => d.reason === 'flap-penalty'), decisions.map((d) => d.reason).join(','));
});

test('no scale-up while the last step still boots: the ready workers look busier than the pool will be', () => {
  // 2 of 4 ready and saturated: 20 in flight over 2 × 10 is 100%, but the 2 booting workers are about to take half.
  const out = decideAutoscale(CONFIG, INITIAL_AUTOSCALE_STATE, { now: 0, desired: 4, readyWorkers: 2, inFlight: 20, capacityPerWorker: CAPACITY, largestWorkerRssBytes: 0, reloading: false, crashLooping: false });
  assert.deepEqual([out.decision.desired, out.decision.direction, out.decision.reason], [4, 'none', 'below-desired']);
});
