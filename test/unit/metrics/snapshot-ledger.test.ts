import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REQUEST_DURATION_BUCKETS, SnapshotLedger, type Snapshot } from '../../../src/metrics';

const REQ = 'm2pool_requests_total';
const DUR = 'm2pool_request_duration_seconds';
const KEY = JSON.stringify(['/', 'GET', '2xx']);
const HKEY = JSON.stringify(['/', 'GET']);

/** A snapshot with `requests` in one counter series and a histogram of that many observations summing to `sum`. */
function snap(requests: number, sum = requests * 0.01, inFlight = 0): Snapshot {
  return new Map([
    [REQ, { kind: 'counter', series: new Map([[KEY, { labels: ['/', 'GET', '2xx'], value: requests }]]) }],
    [DUR, { kind: 'histogram', series: new Map([[HKEY, { labels: ['/', 'GET'], buckets: REQUEST_DURATION_BUCKETS.map(() => requests), count: requests, sum }]]) }],
    ['m2pool_requests_in_flight', { kind: 'gauge', series: new Map([['[]', { labels: [], value: inFlight }]]) }],
  ]) as Snapshot;
}

function requestsOf(s: Snapshot): number | undefined {
  const f = s.get(REQ);
  return f?.kind === 'counter' ? f.series.get(KEY)?.value : undefined;
}

function histogramOf(s: Snapshot): { count: number; sum: number; buckets: number[] } | undefined {
  const f = s.get(DUR);
  const h = f?.kind === 'histogram' ? f.series.get(HKEY) : undefined;
  return h === undefined ? undefined : { count: h.count, sum: h.sum, buckets: [...h.buckets] };
}

describe('SnapshotLedger', () => {
  test('a gone process keeps its counts: A(10), gone, A of a new generation (3) gives 13', () => {
    const l = new SnapshotLedger();
    assert.equal(l.ingest('0/1/100', snap(10)), 'live');
    assert.equal(requestsOf(l.totals()), 10);
    l.gone('0/1/100');
    assert.equal(requestsOf(l.totals()), 10);
    assert.equal(l.ingest('0/2/101', snap(3)), 'live');
    assert.equal(requestsOf(l.totals()), 13);
    assert.equal(histogramOf(l.totals())?.count, 13);
  });

  test('gauges are never accumulated into the totals', () => {
    const l = new SnapshotLedger();
    l.ingest('a', snap(1, 0.01, 5));
    assert.equal(l.totals().has('m2pool_requests_in_flight'), false);
    l.gone('a');
    assert.equal(l.totals().has('m2pool_requests_in_flight'), false);
    assert.equal(l.live('a'), undefined);
  });

  test('a live process whose counters went backwards keeps what it had counted', () => {
    const l = new SnapshotLedger();
    l.ingest('a', snap(10));
    l.ingest('a', snap(4));
    assert.equal(requestsOf(l.totals()), 14);
  });

  test('a snapshot arriving after gone() adds only what the process counted since its last one', () => {
    const l = new SnapshotLedger();
    l.ingest('a', snap(10));
    l.gone('a');
    assert.equal(l.ingest('a', snap(12)), 'late');
    assert.equal(requestsOf(l.totals()), 12);
    assert.equal(l.ingest('a', snap(12)), 'late');
    assert.equal(requestsOf(l.totals()), 12);
    assert.equal(l.stats.live, 0);
  });

  test('the final snapshot of a process that never pushed before gone() is still counted', () => {
    const l = new SnapshotLedger();
    l.gone('a');
    assert.equal(l.ingest('a', snap(7)), 'late');
    assert.equal(requestsOf(l.totals()), 7);
  });

  test('a late snapshot that went backwards, or whose baseline was dropped, is stale', () => {
    const l = new SnapshotLedger({ keptFinalSnapshots: 1 });
    l.ingest('a', snap(10));
    l.gone('a');
    assert.equal(l.ingest('a', snap(9)), 'stale');
    l.gone('b');
    assert.equal(l.ingest('a', snap(11)), 'stale', 'baseline of a evicted by b');
    assert.equal(requestsOf(l.totals()), 10);
    assert.equal(l.live('a'), undefined, 'a stale snapshot never resurrects a process');
  });

  test('gone() is idempotent', () => {
    const l = new SnapshotLedger();
    l.ingest('a', snap(10));
    l.gone('a');
    l.gone('a');
    assert.equal(requestsOf(l.totals()), 10);
  });

  test('memory stays bounded under churn while totals stay exact', () => {
    const l = new SnapshotLedger({ keptFinalSnapshots: 16, rememberedGone: 100 });
    for (let i = 0; i < 5000; i++) {
      l.ingest(`p${i}`, snap(2));
      l.gone(`p${i}`);
    }
    assert.deepEqual(l.stats, { live: 0, rememberedGone: 100, keptFinalSnapshots: 16 });
    assert.equal(requestsOf(l.totals()), 10_000);
    const h = histogramOf(l.totals());
    assert.equal(h?.count, 10_000);
    assert.deepEqual(h?.buckets, REQUEST_DURATION_BUCKETS.map(() => 10_000));
  });

  test('a histogram sum never dips when a process moves from live to retired (float addition order)', () => {
    // (0.546 + 0.029) + 0.991 = 1.566, but (0.991 + 0.546) + 0.029 = 1.5659999999999998: the same addends in
    // another order. Without the clamp, Prometheus would see a counter reset.
    const l = new SnapshotLedger();
    l.ingest('x', snap(1, 0.546));
    l.ingest('y', snap(1, 0.029));
    l.ingest('z', snap(1, 0.991));
    const before = histogramOf(l.totals())?.sum ?? NaN;
    assert.equal(before, 1.566);
    l.gone('z');
    const after = histogramOf(l.totals())?.sum ?? NaN;
    assert.ok(after >= before, `${after} < ${before}`);
    assert.equal(after, 1.566);
  });

  test('series that only a gone process had stay in the totals', () => {
    const l = new SnapshotLedger();
    const other: Snapshot = new Map([[REQ, { kind: 'counter', series: new Map([['k', { labels: ['/x', 'POST', '5xx'], value: 2 }]]) }]]);
    l.ingest('a', other);
    l.gone('a');
    l.ingest('b', snap(1));
    const f = l.totals().get(REQ);
    assert.equal(f?.kind === 'counter' ? f.series.get('k')?.value : undefined, 2);
  });
});
