import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  DEFAULT_PARSE_LIMITS,
  REQUEST_DURATION_BUCKETS,
  WORKER_METRICS,
  WORKER_METRICS_BY_NAME,
  parseSnapshot,
  type ParseResult,
  type Snapshot,
} from '../../../src/metrics';
import { req, workerSnapshot } from './support';

const parse = (x: unknown, limits = DEFAULT_PARSE_LIMITS): ParseResult => parseSnapshot(x, WORKER_METRICS_BY_NAME, limits);

function ok(r: ParseResult): Snapshot {
  if (!r.ok) assert.fail(`rejected: ${r.reason}: ${r.detail}`);
  return r.snapshot;
}

function rejected(r: ParseResult, reason: string): void {
  assert.equal(r.ok, false, 'expected a rejection');
  if (!r.ok) assert.equal(r.reason, reason, r.detail);
}

/** A valid one-family snapshot of `m2pool_requests_total` with the given values entries. */
const requestsFamily = (values: unknown[]): unknown[] => [{ name: 'm2pool_requests_total', type: 'counter', help: 'h', values, aggregator: 'sum' }];
const lbl = { route: '/', method: 'GET', status_class: '2xx' };

/** A histogram family of the duration metric built from `mutate(values)`. */
async function durationFamily(mutate: (values: Array<Record<string, unknown>>) => void): Promise<unknown[]> {
  const snap = (await workerSnapshot(3)) as Array<{ name: string; values: Array<Record<string, unknown>> }>;
  const fam = snap.find((f) => f.name === WORKER_METRICS.requestDuration.name);
  assert.ok(fam);
  mutate(fam.values);
  return [fam];
}

describe('parseSnapshot', () => {
  test('accepts a WorkerMetrics snapshot after a JSON round trip, with exact values', async () => {
    const snap = ok(parse(await workerSnapshot(4, req({ durationMs: 30 }), (w) => w.inFlight(2))));
    const requests = snap.get('m2pool_requests_total');
    assert.equal(requests?.kind, 'counter');
    if (requests?.kind === 'counter') assert.deepEqual([...requests.series.values()], [{ labels: ['/', 'GET', '2xx'], value: 4 }]);
    const duration = snap.get('m2pool_request_duration_seconds');
    assert.equal(duration?.kind, 'histogram');
    if (duration?.kind === 'histogram') {
      const s = [...duration.series.values()][0];
      assert.deepEqual(s?.labels, ['/', 'GET']);
      assert.equal(s?.count, 4);
      assert.equal(s?.sum, 0.12);
      // 30 ms: above 0.025, within 0.05 (index 5).
      assert.deepEqual(s?.buckets, REQUEST_DURATION_BUCKETS.map((_, i) => (i >= 5 ? 4 : 0)));
    }
    const inFlight = snap.get('m2pool_requests_in_flight');
    if (inFlight?.kind !== 'gauge') assert.fail('in flight gauge missing');
    assert.deepEqual([...inFlight.series.values()], [{ labels: [], value: 2 }]);
  });

  test("accepts prom-client's own Counter, Histogram and Gauge JSON for the same specs", async () => {
    const r = new Registry();
    const W = WORKER_METRICS;
    const c = new Counter({ name: W.requests.name, help: 'h', labelNames: [...W.requests.labelNames], registers: [r] });
    const h = new Histogram({ name: W.requestDuration.name, help: 'h', labelNames: [...W.requestDuration.labelNames], buckets: [...REQUEST_DURATION_BUCKETS], registers: [r] });
    const g = new Gauge({ name: W.requestsInFlight.name, help: 'h', registers: [r] });
    c.inc({ route: '/a', method: 'POST', status_class: '4xx' }, 3);
    h.observe({ route: '/a', method: 'POST' }, 0.2);
    h.observe({ route: '/a', method: 'POST' }, 100);
    g.set(7);
    const snap = ok(parse(JSON.parse(JSON.stringify(await r.getMetricsAsJSON()))));
    const d = snap.get(W.requestDuration.name);
    if (d?.kind !== 'histogram') assert.fail('histogram missing');
    const s = [...d.series.values()][0];
    assert.equal(s?.count, 2);
    assert.equal(s?.sum, 100.2);
    assert.deepEqual(s?.buckets, REQUEST_DURATION_BUCKETS.map((b) => (b >= 0.25 ? 1 : 0)));
  });

  test('skips and lists families it does not know', () => {
    const r = parse([{ name: 'app_custom_total', type: 'counter', values: [{ value: 1, labels: {} }] }, ...requestsFamily([{ value: 1, labels: lbl }])]);
    assert.equal(r.ok, true);
    if (r.ok) {
      assert.deepEqual(r.unknownFamilies, ['app_custom_total']);
      assert.deepEqual([...r.snapshot.keys()], ['m2pool_requests_total']);
    }
  });

  test('rejects shapes that are not prom-client JSON as malformed', () => {
    const garbage: unknown[] = [
      undefined,
      null,
      42,
      'metrics',
      { name: 'm2pool_requests_total' },
      [null],
      [42],
      [{ name: 'm2pool_requests_total', type: 'counter' }],
      [{ name: 1, type: 'counter', values: [] }],
      requestsFamily([null]),
      requestsFamily([{ value: '1', labels: lbl }]),
      requestsFamily([{ value: null, labels: lbl }]),
      requestsFamily([{ labels: lbl }]),
      requestsFamily([{ value: 1, labels: 'route=/' }]),
      requestsFamily([{ value: 1, labels: lbl }, { value: 2, labels: { ...lbl } }]),
      [...requestsFamily([]), ...requestsFamily([])],
    ];
    for (const g of garbage) rejected(parse(g), 'malformed');
  });

  test('rejects data that disagrees with the definitions as schema', () => {
    const bad: unknown[] = [
      [{ name: 'm2pool_requests_total', type: 'gauge', values: [] }],
      requestsFamily([{ value: 1, labels: { route: '/', method: 'GET' } }]),
      requestsFamily([{ value: 1, labels: { ...lbl, slot: '3' } }]),
      requestsFamily([{ value: 1, labels: { ...lbl, pid: '1234' } }]),
      requestsFamily([{ value: 1, labels: { ...lbl, route: { x: 1 } } }]),
      requestsFamily([{ value: 1, labels: { ...lbl, route: 'x'.repeat(DEFAULT_PARSE_LIMITS.maxLabelValueLength + 1) } }]),
      requestsFamily([{ value: -1, labels: lbl }]),
      requestsFamily([{ value: 1, labels: lbl, metricName: 'm2pool_requests_created' }]),
    ];
    for (const b of bad) rejected(parse(b), 'schema');
  });

  test('rejects histograms with unknown, missing or non-cumulative buckets', async () => {
    const moveBucket = (v: Array<Record<string, unknown>>): void => {
      for (const x of v) {
        const labels = x['labels'] as Record<string, unknown> | undefined;
        if (labels?.['le'] === 0.001) labels['le'] = 0.002;
      }
    };
    rejected(parse(await durationFamily(moveBucket)), 'schema');
    rejected(parse(await durationFamily((v) => v.splice(0, 1))), 'schema');
    rejected(parse(await durationFamily((v) => v.splice(v.length - 1, 1))), 'schema');
    rejected(parse(await durationFamily((v) => ((v[0] as Record<string, unknown>)['value'] = 99))), 'schema');
    rejected(parse(await durationFamily((v) => v.push({ ...v[v.length - 1], metricName: 'm2pool_request_duration_seconds_created' }))), 'schema');
    const countMismatch = await durationFamily((v) => {
      const count = v.find((x) => x['metricName'] === 'm2pool_request_duration_seconds_count');
      if (count) count['value'] = 4;
    });
    rejected(parse(countMismatch), 'schema');
  });

  test('rejects a snapshot with more samples than the cap as too-large', () => {
    const values = Array.from({ length: 11 }, (_, i) => ({ value: 1, labels: { ...lbl, route: `/${i}` } }));
    rejected(parse(requestsFamily(values), { ...DEFAULT_PARSE_LIMITS, maxSamples: 10 }), 'too-large');
    assert.equal(parse(requestsFamily(values.slice(0, 10)), { ...DEFAULT_PARSE_LIMITS, maxSamples: 10 }).ok, true);
  });
});
