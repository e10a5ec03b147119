import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PoolMetrics, RESTART_REASONS } from '../../../src/metrics';
import { metricsObserver, restartReasonOf } from '../../../src/supervisor/control/metrics-observer';
import { Supervisor } from '../../../src/supervisor/arbiter/supervisor';
import { testConfig } from '../../helpers/supervisor-config';
import { fakeSpawner } from '../../helpers/supervisor-fake-child';
import { FakeClock } from '../../helpers/supervisor-fake-clock';
import { LogSink } from '../../helpers/supervisor-log-sink';

test('restart causes map onto the closed reason set; scale-down and stop are not restarts', () => {
  for (const cause of ['crash', 'signal', 'heartbeat-timeout', 'boot-timeout', 'app-load-error', 'reload', 'recycle-rss', 'external'] as const) {
    const reason = restartReasonOf(cause);
    assert.ok(reason !== undefined && (RESTART_REASONS as readonly string[]).includes(reason), cause);
  }
  assert.equal(restartReasonOf('app-load-error'), 'boot-failure');
  assert.equal(restartReasonOf('signal'), 'killed');
  assert.equal(restartReasonOf('scale-down'), undefined);
  assert.equal(restartReasonOf('stop'), undefined);
});

test('a supervisor wired to PoolMetrics exposes workers, restarts, scale events and breakers', async (t) => {
  const clock = new FakeClock();
  const metrics = new PoolMetrics({ now: () => clock.now(), defaultMetrics: false });
  const spawner = fakeSpawner();
  const config = testConfig({ workers: 2, minReady: 1, crashLoop: { maxFailures: 2, windowMs: 10_000 } });
  const sup = new Supervisor({ config, clock, spawn: spawner.spawn, logger: new LogSink().logger(), random: () => 0, observer: metricsObserver(metrics, config.minReady) });
  t.after(() => {
    void sup.destroy();
    clock.advance(10_000);
  });
  sup.start();
  clock.advance(0);
  spawner.children[0]!.ready();
  spawner.children[0]!.heartbeat({ rssBytes: 5_000_000 });
  spawner.children[1]!.exit(1); // crash → restart
  clock.advance(0);
  clock.advance(1);
  spawner.children[2]!.exit(4); // second failure → breaker opens, no restart
  clock.advance(0);
  sup.scale(3);
  clock.advance(0);

  const text = await metrics.render();
  const value = (series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  assert.equal(value('m2pool_workers{state="ready"}'), 1);
  assert.equal(value('m2pool_workers{state="booting"}'), 1);
  assert.equal(value('m2pool_workers_desired'), 3);
  assert.equal(value('m2pool_workers_min_ready'), 1);
  assert.equal(value('m2pool_worker_restarts_total{slot="1",reason="crash"}'), 1);
  assert.equal(value('m2pool_worker_restarts_total{slot="1",reason="boot-failure"}'), 0, 'the failure that opened the breaker restarted nothing');
  assert.equal(value('m2pool_slot_crashloop{slot="1"}'), 1);
  assert.equal(value('m2pool_pool_scale_events_total{direction="up"}'), 1);
  assert.equal(value('m2pool_worker_rss_bytes{slot="0"}'), 5_000_000);
});
