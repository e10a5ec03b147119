import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { PoolMetrics, type RestartReason, type WorkerRef } from '../../../src/metrics';
import { createLogger } from '../../../src/log/logger';
import { req, sample, samples, workerSnapshot } from './support';

const A: WorkerRef = { slot: 0, generation: 1, pid: 1000 };
const B: WorkerRef = { slot: 1, generation: 1, pid: 1001 };

/** A pool with a settable clock and no Node default metrics (deterministic output). */
function pool(start = 1_000_000): { p: PoolMetrics; clock: { now: number } } {
  const clock = { now: start };
  return { p: new PoolMetrics({ now: () => clock.now, defaultMetrics: false }), clock };
}

const REQ_2XX = 'm2pool_requests_total{route="/",method="GET",status_class="2xx"}';
const rejectedCount = (t: string, reason: string): number => sample(t, `m2pool_metrics_snapshots_rejected_total{reason="${reason}"}`);

describe('PoolMetrics merging', () => {
  test('sums two workers: counters and every histogram bucket, sum and count, exactly', async () => {
    const { p } = pool();
    assert.equal(p.ingest(A, await workerSnapshot(3, req({ durationMs: 4 }))), 'accepted');
    assert.equal(p.ingest(B, await workerSnapshot(5, req({ durationMs: 40 }))), 'accepted');
    const t = await p.render();
    assert.equal(sample(t, REQ_2XX), 8);
    const bucket = (le: string): number => sample(t, `m2pool_request_duration_seconds_bucket{route="/",method="GET",le="${le}"}`);
    assert.equal(bucket('0.0025'), 0);
    assert.equal(bucket('0.005'), 3);
    assert.equal(bucket('0.025'), 3);
    assert.equal(bucket('0.05'), 8);
    assert.equal(bucket('1.0'), 8);
    assert.equal(bucket('+Inf'), 8);
    assert.equal(sample(t, 'm2pool_request_duration_seconds_count{route="/",method="GET"}'), 8);
    assert.equal(sample(t, 'm2pool_request_duration_seconds_sum{route="/",method="GET"}'), 0.012 + 0.2);
    assert.equal(sample(t, 'm2pool_response_bytes_total'), 800);
  });

  test('a later snapshot of the same process replaces its earlier one (snapshots are cumulative)', async () => {
    const { p } = pool();
    p.ingest(A, await workerSnapshot(3));
    p.ingest(A, await workerSnapshot(7));
    assert.equal(sample(await p.render(), REQ_2XX), 7);
  });

  test('request counters and histograms carry no slot label; per-slot gauges do', async () => {
    const { p } = pool();
    p.ingest(A, await workerSnapshot(1, req(), (w) => w.inFlight(2)));
    p.ingest(B, await workerSnapshot(1, req(), (w) => w.inFlight(5)));
    const keys = [...samples(await p.render()).keys()];
    for (const k of keys.filter((k) => k.startsWith('m2pool_request'))) {
      if (k.startsWith('m2pool_requests_in_flight')) assert.match(k, /^m2pool_requests_in_flight\{slot="\d+"\}$/);
      else assert.doesNotMatch(k, /slot=/, k);
    }
    assert.ok(keys.every((k) => !/pid=|generation=/.test(k)), 'no pid or generation label anywhere');
  });

  test('per-slot gauges combine the live processes of a slot (in flight summed, endpoints max)', async () => {
    const { p } = pool();
    const old: WorkerRef = { slot: 2, generation: 1, pid: 2000 };
    const successor: WorkerRef = { slot: 2, generation: 2, pid: 2001 };
    p.ingest(old, await workerSnapshot(0, req(), (w) => (w.inFlight(3), w.endpointsConnected(0))));
    p.ingest(successor, await workerSnapshot(0, req(), (w) => (w.inFlight(1), w.endpointsConnected(2))));
    p.ingest(A, await workerSnapshot(0, req(), (w) => (w.inFlight(4), w.endpointsConnected(2))));
    const t = await p.render();
    assert.equal(sample(t, 'm2pool_requests_in_flight{slot="2"}'), 4);
    assert.equal(sample(t, 'm2pool_requests_in_flight{slot="0"}'), 4);
    assert.equal(sample(t, 'm2pool_mongrel2_endpoints_connected{slot="2"}'), 2);
  });
});

describe('PoolMetrics across worker exits', () => {
  test('counters never decrease: ingest A(10), processGone(A), A of a new generation (3) gives 13', async () => {
    const { p } = pool();
    p.ingest(A, await workerSnapshot(10));
    assert.equal(sample(await p.render(), REQ_2XX), 10);
    p.processGone(A);
    assert.equal(sample(await p.render(), REQ_2XX), 10);
    const next: WorkerRef = { slot: 0, generation: 2, pid: 1002 };
    p.ingest(next, await workerSnapshot(3));
    const t = await p.render();
    assert.equal(sample(t, REQ_2XX), 13);
    assert.equal(sample(t, 'm2pool_request_duration_seconds_count{route="/",method="GET"}'), 13);
  });

  test('a crashed process restarted with the same slot and generation but a new pid is a new process', async () => {
    const { p } = pool();
    p.ingest(A, await workerSnapshot(4));
    p.processGone(A);
    p.ingest({ ...A, pid: 1099 }, await workerSnapshot(2));
    assert.equal(sample(await p.render(), REQ_2XX), 6);
  });

  test('gauges and per-slot series of a gone process vanish', async () => {
    const { p } = pool();
    p.setWorkerState(A, 'ready');
    p.recordHeartbeat(A, { loopLagMs: 5, rssBytes: 1e8 });
    p.ingest(A, await workerSnapshot(1, req(), (w) => (w.inFlight(2), w.endpointsConnected(1))));
    assert.equal(sample(await p.render(), 'm2pool_requests_in_flight{slot="0"}'), 2);
    p.processGone(A);
    const t = await p.render();
    // Restart counters belong to the slot, which outlives its processes: they stay (at 0 here).
    const left = [...samples(t).keys()].filter((k) => k.includes('slot="0"') && !k.startsWith('m2pool_worker_restarts_total'));
    assert.deepEqual(left, []);
    assert.equal(sample(t, 'm2pool_worker_restarts_total{slot="0",reason="crash"}'), 0);
    assert.equal(sample(t, 'm2pool_workers{state="ready"}'), 0);
    assert.equal(sample(t, REQ_2XX), 1);
    assert.deepEqual(p.stats, { processes: 0, live: 0, rememberedGone: 1, keptFinalSnapshots: 1 });
  });

  test('the final snapshot arriving after processGone is still counted, once', async () => {
    const { p } = pool();
    p.ingest(A, await workerSnapshot(10));
    p.processGone(A);
    assert.equal(p.ingest(A, await workerSnapshot(12)), 'late');
    const t = await p.render();
    assert.equal(sample(t, REQ_2XX), 12);
    assert.equal(p.stats.processes, 0);
  });

  test('messages racing the exit do not resurrect a gone process', async () => {
    const { p } = pool();
    p.setWorkerState(A, 'draining');
    p.processGone(A);
    p.setWorkerState(A, 'ready');
    p.recordHeartbeat(A, { loopLagMs: 1, rssBytes: 1 });
    assert.equal(p.stats.processes, 0);
    const t = await p.render();
    assert.equal(sample(t, 'm2pool_workers{state="ready"}'), 0);
    assert.equal(samples(t).has('m2pool_worker_rss_bytes{slot="0"}'), false);
  });

  test('memory stays bounded over thousands of worker lifetimes, totals exact', async () => {
    const { p } = pool();
    const snap = await workerSnapshot(2, req(), (w) => w.inFlight(1));
    for (let i = 0; i < 5000; i++) {
      const ref = { slot: i % 4, generation: 1, pid: 10_000 + i };
      p.setWorkerState(ref, 'ready');
      p.recordHeartbeat(ref, { loopLagMs: 1, rssBytes: 1 });
      p.ingest(ref, snap);
      p.processGone(ref);
    }
    assert.deepEqual(p.stats, { processes: 0, live: 0, rememberedGone: 4096, keptFinalSnapshots: 16 });
    assert.equal(sample(await p.render(), REQ_2XX), 10_000);
  });
});

describe('PoolMetrics supervisor-side metrics', () => {
  test('counts live processes by state, all three states always present', async () => {
    const { p } = pool();
    p.setWorkerState(A, 'booting');
    p.setWorkerState(B, 'booting');
    p.setWorkerState(B, 'ready');
    p.setWorkerState({ slot: 1, generation: 0, pid: 900 }, 'draining');
    let t = await p.render();
    assert.equal(sample(t, 'm2pool_workers{state="booting"}'), 1);
    assert.equal(sample(t, 'm2pool_workers{state="ready"}'), 1);
    assert.equal(sample(t, 'm2pool_workers{state="draining"}'), 1);
    p.setWorkerState(A, null);
    t = await p.render();
    assert.equal(sample(t, 'm2pool_workers{state="booting"}'), 0);
  });

  test('heartbeat age, lag, RSS and snapshot age per slot, from the injected clock', async () => {
    const { p, clock } = pool(50_000);
    const A2: WorkerRef = { slot: 0, generation: 2, pid: 1002 };
    p.recordHeartbeat(A, { loopLagMs: 12, rssBytes: 100, at: 49_000 });
    p.recordHeartbeat(A2, { loopLagMs: 3, rssBytes: 50, at: 47_500 });
    p.recordHeartbeat(B, { loopLagMs: 250, rssBytes: 70 });
    p.ingest(B, await workerSnapshot(1));
    clock.now = 52_000;
    const t = await p.render();
    assert.equal(sample(t, 'm2pool_worker_heartbeat_age_seconds{slot="0"}'), 4.5);
    assert.equal(sample(t, 'm2pool_worker_heartbeat_age_seconds{slot="1"}'), 2);
    assert.equal(sample(t, 'm2pool_worker_event_loop_lag_seconds{slot="0"}'), 0.012);
    assert.equal(sample(t, 'm2pool_worker_event_loop_lag_seconds{slot="1"}'), 0.25);
    assert.equal(sample(t, 'm2pool_worker_rss_bytes{slot="0"}'), 150);
    assert.equal(sample(t, 'm2pool_worker_metrics_snapshot_age_seconds{slot="1"}'), 2);
    assert.equal(samples(t).has('m2pool_worker_metrics_snapshot_age_seconds{slot="0"}'), false);
  });

  test('desired, min ready, restarts, scale events and crash-loop state', async () => {
    const { p } = pool();
    let t = await p.render();
    assert.equal(sample(t, 'm2pool_pool_scale_events_total{direction="up"}'), 0, 'closed label sets start at 0');
    assert.equal(sample(t, 'm2pool_pool_scale_events_total{direction="down"}'), 0);
    p.setDesired(4);
    p.setMinReady(2);
    p.recordRestart(1, 'crash');
    p.recordRestart(1, 'crash');
    p.recordRestart(3, 'heartbeat-timeout');
    p.recordScale('up');
    p.setCrashloop(2, true);
    p.setCrashloop(3, true);
    p.setCrashloop(3, false);
    t = await p.render();
    assert.equal(sample(t, 'm2pool_workers_desired'), 4);
    assert.equal(sample(t, 'm2pool_workers_min_ready'), 2);
    assert.equal(sample(t, 'm2pool_worker_restarts_total{slot="1",reason="crash"}'), 2);
    assert.equal(sample(t, 'm2pool_worker_restarts_total{slot="3",reason="heartbeat-timeout"}'), 1);
    // A slot's other reasons exist at 0 from its first appearance: increase() then sees their first restart.
    assert.equal(sample(t, 'm2pool_worker_restarts_total{slot="3",reason="crash"}'), 0);
    assert.equal(sample(t, 'm2pool_worker_restarts_total{slot="1",reason="reload"}'), 0);
    assert.equal(sample(t, 'm2pool_pool_scale_events_total{direction="up"}'), 1);
    assert.equal(sample(t, 'm2pool_slot_crashloop{slot="2"}'), 1);
    assert.equal(sample(t, 'm2pool_slot_crashloop{slot="3"}'), 0);
    p.forgetSlot(3);
    assert.equal(samples(await p.render()).has('m2pool_slot_crashloop{slot="3"}'), false);
  });

  test('a restart reason or slot outside the closed sets is not counted', async () => {
    const { p } = pool();
    p.recordRestart(0, 'oom' as RestartReason);
    p.recordRestart(-1, 'crash');
    p.recordRestart(1.5, 'crash');
    const t = await p.render();
    assert.deepEqual([...samples(t).keys()].filter((k) => k.startsWith('m2pool_worker_restarts_total')), []);
  });

  test('default process metrics of the supervisor are exported with the m2pool_supervisor_ prefix', async () => {
    const p = new PoolMetrics();
    const names = (await p.families()).map((f) => f.name);
    assert.ok(names.includes('m2pool_supervisor_process_cpu_seconds_total'));
    assert.ok(names.includes('m2pool_supervisor_nodejs_heap_size_used_bytes'));
    assert.ok(!names.includes('process_cpu_seconds_total'));
    assert.ok(!names.some((n) => /^m2pool_supervisor_nodejs_active_\w+_total$/.test(n)), 'gauges named *_total are dropped');
  });
});

describe('PoolMetrics with bad input', () => {
  test('garbage snapshots are ignored and counted by reason; nothing throws', async () => {
    const { p } = pool();
    p.ingest(A, await workerSnapshot(2));
    const garbage: unknown[] = [
      undefined,
      null,
      'x',
      7,
      {},
      [null],
      [{ name: 'm2pool_requests_total', type: 'counter', values: [{ value: 'NaN', labels: {} }] }],
      [{ name: 'm2pool_requests_total', type: 'counter', values: [{ value: 1e6, labels: { route: '/', method: 'GET', status_class: '2xx', pid: '1' } }] }],
      [{ name: 'm2pool_requests_total', type: 'histogram', values: [] }],
      Array.from({ length: 60_000 }, () => ({ name: 'junk', type: 'counter', values: [1] })),
      [{ name: 'm2pool_requests_total', type: 'counter', values: Array.from({ length: 60_000 }, () => ({})) }],
    ];
    for (const g of garbage) assert.equal(p.ingest(A, g), 'rejected');
    const t = await p.render();
    assert.equal(rejectedCount(t, 'malformed'), 7);
    assert.equal(rejectedCount(t, 'schema'), 2);
    assert.equal(rejectedCount(t, 'too-large'), 2);
    assert.equal(sample(t, REQ_2XX), 2, 'the last good snapshot still counts');
  });

  test('a stale snapshot of a long-gone process is rejected and counted', async () => {
    const p = new PoolMetrics({ defaultMetrics: false, ledger: { keptFinalSnapshots: 0 } });
    p.ingest(A, await workerSnapshot(5));
    p.processGone(A);
    assert.equal(p.ingest(A, await workerSnapshot(9)), 'rejected');
    const t = await p.render();
    assert.equal(rejectedCount(t, 'stale'), 1);
    assert.equal(sample(t, REQ_2XX), 5);
  });

  test('a rejected snapshot is logged once per process and reason, then only at debug', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb): void {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    });
    const logger = createLogger({ level: 'info', destination: sink });
    const p = new PoolMetrics({ defaultMetrics: false, logger });
    for (let i = 0; i < 5; i++) p.ingest(A, 'garbage');
    p.ingest(B, 'garbage');
    p.ingest(B, [{ name: 'app_extra_total', type: 'counter', values: [] }]);
    p.ingest(B, [{ name: 'app_extra_total', type: 'counter', values: [] }]);
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    const events = lines.map((l) => `${String(l['event'])}:${String(l['process'] ?? l['family'])}:${String(l['level'])}`);
    assert.deepEqual(events, ['metrics.snapshot-rejected:0/1/1000:40', 'metrics.snapshot-rejected:1/1/1001:40', 'metrics.unknown-family:app_extra_total:40']);
  });
});

describe('PoolMetrics autoscaling metrics', () => {
  test('utilisation is in flight over the in-flight caps of the ready workers; workers without a cap do not count', async () => {
    const { p } = pool();
    const C: WorkerRef = { slot: 2, generation: 1, pid: 1002 };
    for (const ref of [A, B, C]) p.setWorkerState(ref, 'ready');
    p.recordHeartbeat(A, { loopLagMs: 0, rssBytes: 1, inFlight: 3, maxInFlight: 4 });
    p.recordHeartbeat(B, { loopLagMs: 0, rssBytes: 1, inFlight: 1, maxInFlight: 4 });
    p.recordHeartbeat(C, { loopLagMs: 0, rssBytes: 1, inFlight: 9, maxInFlight: null });
    assert.equal(sample(await p.render(), 'm2pool_utilization_ratio'), 0.5);
    p.setWorkerState(A, 'draining');
    assert.equal(sample(await p.render(), 'm2pool_utilization_ratio'), 0.25, 'only ready workers');
  });

  test('decisions are counted by direction and reason, every possible pair from 0', async () => {
    const { p } = pool();
    const off = await p.render();
    assert.equal([...samples(off).keys()].filter((k) => k.startsWith('m2pool_autoscale_decisions_total')).length, 16);
    assert.equal(sample(off, 'm2pool_autoscale_decisions_total{direction="up",reason="utilization"}'), 0);
    assert.equal(sample(off, 'm2pool_autoscale_desired_workers'), 0, '0 while off');
    p.recordAutoscale('up', 'stabilizing', 9);
    assert.equal([...samples(await p.render()).keys()].filter((k) => k.startsWith('m2pool_autoscale_decisions_total')).length, 16, 'an impossible pair mints no series');
    p.recordAutoscale('up', 'queue-wait', 3);
    p.recordAutoscale('none', 'stabilizing', 3);
    const t = await p.render();
    assert.equal(sample(t, 'm2pool_autoscale_decisions_total{direction="up",reason="queue-wait"}'), 1);
    assert.equal(sample(t, 'm2pool_autoscale_decisions_total{direction="none",reason="stabilizing"}'), 1);
    assert.equal(sample(t, 'm2pool_autoscale_decisions_total{direction="down",reason="utilization"}'), 0);
    assert.equal(sample(t, 'm2pool_autoscale_desired_workers'), 3);
  });
});
