import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  PoolMetrics,
  UNMATCHED_ROUTE,
  negotiateFormat,
  writeExposition,
  type ExpositionFamily,
  type WorkerRef,
} from '../../../src/metrics';
import { formatNumber } from '../../../src/metrics/exposition';
import { PROMTOOL_MISSING, promtool, req, workerSnapshot } from './support';

const A: WorkerRef = { slot: 0, generation: 1, pid: 1000 };
const B: WorkerRef = { slot: 1, generation: 1, pid: 1001 };

/** A pool with data in every family: both workers, all supervisor setters, default process metrics. */
async function busyPool(): Promise<PoolMetrics> {
  const p = new PoolMetrics();
  p.ingest(
    A,
    await workerSnapshot(3, req({ route: '/users/:id', durationMs: 12 }), (w) => {
      w.observeRequest(req({ route: UNMATCHED_ROUTE, status: 404 }));
      w.observeRequest(req({ route: '/quote"and\\back', method: 'POST', status: 500 }));
      w.observeRequest(req({ outcome: 'aborted' }));
      w.deadlineExpired();
      w.disconnectNotice();
      w.malformedMessage();
      w.sendFailure();
      w.inFlight(2);
      w.endpointsConnected(1);
    }),
  );
  p.ingest(B, await workerSnapshot(2, req({ durationMs: 1500 })));
  p.ingest(B, 'garbage');
  for (const ref of [A, B]) {
    p.setWorkerState(ref, 'ready');
    p.recordHeartbeat(ref, { loopLagMs: 2, rssBytes: 5e7 });
  }
  p.setDesired(2);
  p.setMinReady(1);
  p.recordRestart(0, 'crash');
  p.recordScale('up');
  p.setCrashloop(1, false);
  return p;
}

describe('Prometheus text exposition', () => {
  test('passes promtool check metrics with every family populated', { skip: PROMTOOL_MISSING }, async () => {
    const text = await (await busyPool()).render();
    const r = promtool(['check', 'metrics'], text);
    assert.equal(r.status, 0, r.output);
    assert.equal(r.output.trim(), '');
  });

  test('passes promtool check metrics for an empty pool', { skip: PROMTOOL_MISSING }, async () => {
    const r = promtool(['check', 'metrics'], await new PoolMetrics({ defaultMetrics: false }).render());
    assert.equal(r.status, 0, r.output);
  });

  test('writes HELP and TYPE once per family, canonical le values and escaped label values', async () => {
    const text = await (await busyPool()).render();
    assert.match(text, /^# HELP m2pool_requests_total .+\n# TYPE m2pool_requests_total counter\n/);
    assert.equal(text.match(/^# TYPE m2pool_request_duration_seconds histogram$/gm)?.length, 1);
    assert.match(text, /^m2pool_request_duration_seconds_bucket\{route="\/",method="GET",le="1\.0"\} 1$/m);
    assert.match(text, /^m2pool_request_duration_seconds_bucket\{route="\/",method="GET",le="2\.5"\} 3$/m);
    assert.match(text, /^m2pool_requests_total\{route="\/quote\\"and\\\\back",method="POST",status_class="5xx"\} 1$/m);
    assert.ok(text.endsWith('\n') && !text.includes('# EOF'));
  });
});

describe('OpenMetrics exposition', () => {
  test('names counter families without _total and their samples with it, and ends with # EOF', async () => {
    const text = await (await busyPool()).render('openmetrics');
    assert.ok(text.endsWith('\n# EOF\n'));
    assert.equal(text.match(/# EOF/g)?.length, 1);
    assert.match(text, /^# TYPE m2pool_requests counter$/m);
    assert.match(text, /^m2pool_requests_total\{route="\/",method="GET",status_class="2xx"\} 2$/m);
    assert.match(text, /^# TYPE m2pool_response_bytes counter\n# UNIT m2pool_response_bytes bytes$/m);
    assert.match(text, /^# TYPE m2pool_request_duration_seconds histogram\n# UNIT m2pool_request_duration_seconds seconds$/m);
    assert.match(text, /^# TYPE m2pool_supervisor_process_cpu_seconds counter$/m);
    assert.doesNotMatch(text, /^# TYPE \S+_total /m);
    for (const line of text.split('\n')) {
      const m = /^# TYPE (\S+) counter$/.exec(line);
      if (m) assert.ok(!text.includes(`\n${m[1]}{`) && !text.includes(`\n${m[1]} `), `counter ${m[1]} has a sample without _total`);
    }
  });

  test('escapes quotes, backslashes and newlines in HELP', () => {
    const fam: ExpositionFamily = { name: 'x_total', help: 'a "b" \\ c\nd', type: 'counter', samples: [{ name: 'x_total', labels: [['l', 'v"\n']], value: 1 }] };
    assert.equal(writeExposition([fam], 'openmetrics'), '# HELP x a \\"b\\" \\\\ c\\nd\n# TYPE x counter\nx_total{l="v\\"\\n"} 1\n# EOF\n');
    assert.equal(writeExposition([fam], 'prometheus'), '# HELP x_total a "b" \\\\ c\\nd\n# TYPE x_total counter\nx_total{l="v\\"\\n"} 1\n');
  });
});

describe('formatNumber', () => {
  test('writes specials and canonical numbers', () => {
    assert.equal(formatNumber(Infinity), '+Inf');
    assert.equal(formatNumber(-Infinity), '-Inf');
    assert.equal(formatNumber(NaN), 'NaN');
    assert.equal(formatNumber(1), '1');
    assert.equal(formatNumber(1, true), '1.0');
    assert.equal(formatNumber(0.0025, true), '0.0025');
    assert.equal(formatNumber(1e21, true), '1e+21');
  });
});

describe('negotiateFormat', () => {
  const cases: Array<[string | undefined, 'prometheus' | 'openmetrics']> = [
    [undefined, 'prometheus'],
    ['', 'prometheus'],
    ['*/*', 'prometheus'],
    ['text/plain', 'prometheus'],
    ['text/plain; version=0.0.4', 'prometheus'],
    ['application/openmetrics-text', 'openmetrics'],
    ['application/openmetrics-text; version=1.0.0; charset=utf-8', 'openmetrics'],
    // Prometheus 2.x scrape header:
    ['application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1', 'openmetrics'],
    ['application/openmetrics-text;version=0.0.1', 'prometheus'],
    ['text/plain;version=0.0.4;q=0.9, application/openmetrics-text;q=0.5', 'prometheus'],
    ['application/openmetrics-text;q=0, text/plain', 'prometheus'],
    ['APPLICATION/OpenMetrics-Text; Version=1.0.0', 'openmetrics'],
    ['application/openmetrics-text;q=bogus', 'prometheus'],
  ];
  for (const [accept, format] of cases) {
    test(`${JSON.stringify(accept)} → ${format}`, () => assert.equal(negotiateFormat(accept), format));
  }
});
