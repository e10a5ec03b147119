import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { OVERFLOW_ROUTE, UNMATCHED_ROUTE, WorkerMetrics, type MetricsMessage } from '../../../src/metrics';
import { writePrometheusText } from '../../../src/metrics/exposition';
import { familiesFromRegistryJson } from '../../../src/metrics/registry-families';
import { req, sample } from './support';

/** The worker's metrics in the text format, rendered from its snapshot as the supervisor's exposition does. */
const text = async (w: WorkerMetrics): Promise<string> => writePrometheusText(familiesFromRegistryJson(await w.snapshot()));

/** One event-loop turn (not a timed wait): lets a settled push re-arm the loop before the next tick. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A send function that records messages and lets a test await the next one. */
function recorder(): { sent: MetricsMessage[]; send: (m: MetricsMessage) => void; next: () => Promise<MetricsMessage> } {
  const sent: MetricsMessage[] = [];
  let waiters: Array<(m: MetricsMessage) => void> = [];
  return {
    sent,
    send: (m) => {
      sent.push(m);
      const w = waiters;
      waiters = [];
      for (const resolve of w) resolve(m);
    },
    next: () => new Promise((resolve) => waiters.push(resolve)),
  };
}

describe('WorkerMetrics', () => {
  test('counts requests by route, method and status class, and bytes sent', async () => {
    const w = new WorkerMetrics();
    w.observeRequest(req({ route: '/users/:id', status: 200, bytesSent: 300 }));
    w.observeRequest(req({ route: '/users/:id', method: 'get', status: 201, bytesSent: 200 }));
    w.observeRequest(req({ route: '/users/:id', method: 'DELETE', status: 503, bytesSent: 10 }));
    w.observeRequest(req({ route: UNMATCHED_ROUTE, method: 'PROPFIND', status: 404, bytesSent: 0 }));
    w.observeRequest(req({ route: '/slow', status: 200, outcome: 'aborted', bytesSent: 0 }));
    const t = await text(w);
    assert.equal(sample(t, 'm2pool_requests_total{route="/users/:id",method="GET",status_class="2xx"}'), 2);
    assert.equal(sample(t, 'm2pool_requests_total{route="/users/:id",method="DELETE",status_class="5xx"}'), 1);
    assert.equal(sample(t, 'm2pool_requests_total{route="(unmatched)",method="OTHER",status_class="4xx"}'), 1);
    assert.equal(sample(t, 'm2pool_requests_total{route="/slow",method="GET",status_class="none"}'), 1);
    assert.equal(sample(t, 'm2pool_response_bytes_total'), 510);
  });

  test('puts durations into the histogram buckets exactly, bounds inclusive', async () => {
    const w = new WorkerMetrics();
    for (const ms of [0.5, 1, 3, 3, 2000, 120_000]) w.observeRequest(req({ durationMs: ms }));
    const t = await text(w);
    const bucket = (le: string): number => sample(t, `m2pool_request_duration_seconds_bucket{route="/",method="GET",le="${le}"}`);
    assert.equal(bucket('0.001'), 2); // 0.5 ms and exactly 1 ms
    assert.equal(bucket('0.0025'), 2);
    assert.equal(bucket('0.005'), 4);
    assert.equal(bucket('2.5'), 5);
    assert.equal(bucket('60.0'), 5); // canonical le values, as the pool's /metrics writes them
    assert.equal(bucket('+Inf'), 6);
    assert.equal(sample(t, 'm2pool_request_duration_seconds_count{route="/",method="GET"}'), 6);
    assert.equal(sample(t, 'm2pool_request_duration_seconds_sum{route="/",method="GET"}'), 122.0075);
  });

  test('treats impossible durations as 0 and ignores impossible byte counts instead of throwing', async () => {
    const w = new WorkerMetrics();
    w.observeRequest(req({ durationMs: NaN, bytesSent: -5 }));
    w.observeRequest(req({ durationMs: -3, bytesSent: Infinity }));
    const t = await text(w);
    assert.equal(sample(t, 'm2pool_request_duration_seconds_bucket{route="/",method="GET",le="0.001"}'), 2);
    assert.equal(sample(t, 'm2pool_request_duration_seconds_sum{route="/",method="GET"}'), 0);
    assert.equal(sample(t, 'm2pool_response_bytes_total'), 0);
  });

  test('folds routes beyond the series cap, and overlong routes, into (overflow)', async () => {
    const w = new WorkerMetrics({ maxRouteSeries: 2 });
    for (const route of ['/a', '/b', '/c', '/d', '/a']) w.observeRequest(req({ route }));
    w.observeRequest(req({ route: `/${'x'.repeat(300)}`, method: 'POST' }));
    const t = await text(w);
    assert.equal(sample(t, 'm2pool_requests_total{route="/a",method="GET",status_class="2xx"}'), 2);
    assert.equal(sample(t, 'm2pool_requests_total{route="/b",method="GET",status_class="2xx"}'), 1);
    assert.equal(sample(t, `m2pool_requests_total{route="${OVERFLOW_ROUTE}",method="GET",status_class="2xx"}`), 2);
    assert.equal(sample(t, `m2pool_requests_total{route="${OVERFLOW_ROUTE}",method="POST",status_class="2xx"}`), 1);
  });

  test('counts worker events and sets gauges', async () => {
    const w = new WorkerMetrics();
    w.deadlineExpired();
    w.disconnectNotice();
    w.disconnectNotice();
    w.malformedMessage();
    w.sendFailure();
    w.linkRefused();
    w.inFlight(4);
    w.inFlight(3);
    w.endpointsConnected(2);
    const t = await text(w);
    assert.equal(sample(t, 'm2pool_deadline_expired_total'), 1);
    assert.equal(sample(t, 'm2pool_disconnect_notices_total'), 2);
    assert.equal(sample(t, 'm2pool_malformed_messages_total'), 1);
    assert.equal(sample(t, 'm2pool_reply_send_failures_total'), 1);
    assert.equal(sample(t, 'm2pool_link_refusals_total'), 1);
    assert.equal(sample(t, 'm2pool_requests_in_flight'), 3);
    assert.equal(sample(t, 'm2pool_mongrel2_endpoints_connected'), 2);
  });

  test('snapshot() is a copy: later requests do not change it', async () => {
    const w = new WorkerMetrics();
    w.observeRequest(req());
    const before = JSON.stringify(await w.snapshot());
    const snap = await w.snapshot();
    w.observeRequest(req());
    w.malformedMessage();
    assert.equal(JSON.stringify(snap), before);
  });

  test('startPushing sends m2pool:metrics on every tick until stopped', async (t: TestContext) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const w = new WorkerMetrics();
    const r = recorder();
    const stop = w.startPushing(2000, r.send);
    w.observeRequest(req());
    let next = r.next();
    t.mock.timers.tick(2000);
    const first = await next;
    assert.equal(first.type, 'm2pool:metrics');
    assert.match(JSON.stringify(first.metrics), /"m2pool_requests_total"/);
    w.observeRequest(req());
    await turn();
    next = r.next();
    t.mock.timers.tick(2000);
    await next;
    assert.equal(r.sent.length, 2);
    stop();
    t.mock.timers.tick(10_000);
    await w.flush(); // a flush after stop still uses the send function
    assert.equal(r.sent.length, 3);
  });

  test('a tick is skipped while the previous send has not settled', async (t: TestContext) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const w = new WorkerMetrics();
    const releases: Array<() => void> = [];
    const r = recorder();
    w.startPushing(1000, (m) => {
      r.send(m);
      return new Promise<void>((resolve) => releases.push(resolve));
    });
    let next = r.next();
    t.mock.timers.tick(1000);
    await next;
    t.mock.timers.tick(1000);
    t.mock.timers.tick(1000);
    assert.equal(r.sent.length, 1, 'no second push while the first is unsettled');
    releases[0]?.();
    await turn();
    next = r.next();
    t.mock.timers.tick(1000);
    await next;
    assert.equal(r.sent.length, 2);
    w.stopPushing();
  });

  test('flush() awaits the send, never rejects, and is a no-op without a send function', async () => {
    const errors: unknown[] = [];
    const w = new WorkerMetrics({ onPushError: (err) => errors.push(err) });
    await w.flush();
    let settled = false;
    await w.flush(async () => {
      await Promise.resolve();
      settled = true;
    });
    assert.equal(settled, true);
    await w.flush(() => {
      throw new Error('channel closed');
    });
    await w.flush(() => Promise.reject(new Error('EPIPE')));
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ['channel closed', 'EPIPE'],
    );
  });
});
