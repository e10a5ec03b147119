import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startAdminServer, type AdminTarget } from '../../../src/supervisor/control/admin-server';
import type { PoolSnapshot } from '../../../src/supervisor/control/pool-snapshot';
import type { ScaleTarget } from '../../../src/supervisor/arbiter/scale-request';

const SNAPSHOT: PoolSnapshot = {
  phase: 'running',
  topology: 'direct',
  dispatcher: null,
  remoteDispatcher: null,
  notReadyReason: null,
  pid: 1,
  desired: 2,
  ready: 2,
  booting: 0,
  draining: 0,
  generation: 0,
  minReady: 1,
  minWorkers: 1,
  maxWorkers: 4,
  rollout: null,
  workers: [],
  breaker: [],
};

function fakeTarget() {
  const calls: Array<[string, unknown]> = [];
  const state = { live: true, ready: true };
  const target: AdminTarget = {
    snapshot: () => SNAPSHOT,
    scale: (t: ScaleTarget, source: string) => {
      calls.push(['scale', t]);
      assert.equal(source, 'admin');
      const n = typeof t === 'number' ? t : 2 + t.delta;
      return n > 4 || n < 1 ? { ok: false, status: 400, error: `cannot scale to ${n} workers` } : { ok: true, previous: 2, desired: n };
    },
    reload: () => {
      calls.push(['reload', null]);
      return { ok: true, generation: 1 };
    },
    isLive: () => state.live,
    isReady: () => state.ready,
  };
  return { target, calls, state };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

function call(port: number, method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: opts.headers ?? {} }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function serve(t: TestContext, token = '') {
  const fake = fakeTarget();
  const server = await startAdminServer({ target: fake.target, listen: '127.0.0.1:0', token });
  t.after(() => server.close());
  return { ...fake, port: server.address.port };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

test('GET /pool returns the snapshot; healthz and readyz follow the target', async (t) => {
  const { port, state } = await serve(t);
  const pool = await call(port, 'GET', '/pool');
  assert.equal(pool.status, 200);
  assert.deepEqual(pool.body, { ...SNAPSHOT });
  assert.equal((await call(port, 'GET', '/healthz')).status, 200);
  assert.equal((await call(port, 'GET', '/readyz')).status, 200);
  state.ready = false;
  state.live = false;
  const readyz = await call(port, 'GET', '/readyz');
  assert.deepEqual([readyz.status, readyz.body['status'], readyz.body['minReady']], [503, 'not-ready', 1]);
  assert.equal((await call(port, 'GET', '/healthz')).status, 503);
});

test('POST /pool/scale accepts absolute and relative bodies', async (t) => {
  const { port, calls } = await serve(t);
  const abs = await call(port, 'POST', '/pool/scale', { body: '{"workers": 3}', headers: JSON_HEADERS });
  assert.deepEqual([abs.status, abs.body], [200, { previous: 2, desired: 3 }]);
  const rel = await call(port, 'POST', '/pool/scale', { body: '{"delta": -1}', headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.deepEqual([rel.status, rel.body], [200, { previous: 2, desired: 1 }]);
  assert.deepEqual(calls, [['scale', 3], ['scale', { delta: -1 }]]);
});

test('bad scale input is a 4xx with a clear JSON error and never reaches the supervisor', async (t) => {
  const { port, calls } = await serve(t);
  const cases: Array<[string, Record<string, string>, number, RegExp]> = [
    ['{"workers": -1}', JSON_HEADERS, 400, /must not be negative/],
    ['{"workers": 2.5}', JSON_HEADERS, 400, /must be an integer/],
    ['{"workers": "4"}', JSON_HEADERS, 400, /must be an integer/],
    ['{"delta": 0}', JSON_HEADERS, 400, /must not be zero/],
    ['{"workers": 1, "delta": 1}', JSON_HEADERS, 400, /exactly one/],
    ['{"count": 3}', JSON_HEADERS, 400, /unknown field "count"/],
    ['[3]', JSON_HEADERS, 400, /JSON object/],
    ['{"workers": ', JSON_HEADERS, 400, /malformed JSON/],
    ['{"workers": 3}', { 'content-type': 'text/plain' }, 415, /application\/json/],
    ['{"workers": 3}', {}, 415, /application\/json/],
    [`{"workers": 3, "pad": "${'x'.repeat(5000)}"}`, JSON_HEADERS, 413, /over 4096 bytes/],
  ];
  for (const [body, headers, status, message] of cases) {
    const r = await call(port, 'POST', '/pool/scale', { body, headers });
    assert.equal(r.status, status, `${body.slice(0, 40)} → ${r.status}`);
    assert.match(String(r.body['error']), message);
  }
  assert.deepEqual(calls, []);
  const over = await call(port, 'POST', '/pool/scale', { body: '{"workers": 9}', headers: JSON_HEADERS });
  assert.deepEqual([over.status, over.body['error']], [400, 'cannot scale to 9 workers']);
});

test('wrong method is 405 with Allow; unknown path is 404; /metrics is 404 without a handler', async (t) => {
  const { port } = await serve(t);
  const get = await call(port, 'GET', '/pool/scale');
  assert.deepEqual([get.status, get.headers['allow']], [405, 'POST']);
  assert.match(String(get.body['error']), /accepts POST, not GET/);
  assert.equal((await call(port, 'DELETE', '/pool')).status, 405);
  assert.equal((await call(port, 'GET', '/nope')).status, 404);
  const metrics = await call(port, 'GET', '/metrics');
  assert.deepEqual([metrics.status, metrics.body['error']], [404, 'metrics are not enabled in this build']);
});

test('POST /pool/reload answers 202 with the new generation', async (t) => {
  const { port, calls } = await serve(t);
  const r = await call(port, 'POST', '/pool/reload');
  assert.deepEqual([r.status, r.body], [202, { generation: 1, changed: [] }]);
  assert.deepEqual(calls, [['reload', null]]);
});

test('with a token, mutating calls and GET /pool need the bearer token; the probes do not', async (t) => {
  const { port, calls } = await serve(t, 's3cret');
  assert.equal((await call(port, 'GET', '/pool')).status, 401);
  assert.equal((await call(port, 'GET', '/pool', { headers: { authorization: 'Bearer s3cret' } })).status, 200);
  assert.equal((await call(port, 'GET', '/healthz')).status, 200);
  assert.equal((await call(port, 'GET', '/readyz')).status, 200);
  const none = await call(port, 'POST', '/pool/reload');
  assert.deepEqual([none.status, none.headers['www-authenticate']], [401, 'Bearer']);
  const wrong = await call(port, 'POST', '/pool/scale', { body: '{"workers": 3}', headers: { ...JSON_HEADERS, authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
  assert.deepEqual(calls, []);
  const ok = await call(port, 'POST', '/pool/scale', { body: '{"workers": 3}', headers: { ...JSON_HEADERS, authorization: 'Bearer s3cret' } });
  assert.equal(ok.status, 200);
});

test('the metricsHandler hook serves /metrics', async (t) => {
  const server = await startAdminServer({
    target: fakeTarget().target,
    listen: '127.0.0.1:0',
    token: '',
    metricsHandler: (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('m2pool_up 1\n');
    },
  });
  t.after(() => server.close());
  const text = await new Promise<string>((resolve, reject) => {
    request({ host: '127.0.0.1', port: server.address.port, path: '/metrics' }, (res) => {
      let s = '';
      res.on('data', (c: Buffer) => (s += c.toString()));
      res.on('end', () => resolve(s));
    })
      .on('error', reject)
      .end();
  });
  assert.equal(text, 'm2pool_up 1\n');
});

test('binding a taken port rejects', async (t) => {
  const first = await serve(t);
  await assert.rejects(startAdminServer({ target: first.target, listen: `127.0.0.1:${first.port}`, token: '' }), /EADDRINUSE/);
});

test('the Bearer scheme is case-insensitive (RFC 9110); anything else is 401', async (t) => {
  const { port } = await serve(t, 's3cret');
  for (const auth of ['Bearer s3cret', 'bearer s3cret', 'BEARER  s3cret']) {
    assert.equal((await call(port, 'GET', '/pool', { headers: { authorization: auth } })).status, 200, auth);
  }
  for (const auth of ['Basic s3cret', 'Bearer', 'Bearers3cret', 'Bearer s3cre', 'Bearer s3cret x']) {
    assert.equal((await call(port, 'GET', '/pool', { headers: { authorization: auth } })).status, 401, auth);
  }
});

test('/metrics is open without a metrics token; with one it needs that token or the admin token', async (t) => {
  const handler = (_req: unknown, res: import('node:http').ServerResponse): void => void res.end('{"metrics":true}');
  const open = await startAdminServer({ target: fakeTarget().target, listen: '127.0.0.1:0', token: 'admin-token', metricsHandler: handler });
  t.after(() => open.close());
  assert.equal((await call(open.address.port, 'GET', '/metrics')).status, 200);
  const guarded = await startAdminServer({ target: fakeTarget().target, listen: '127.0.0.1:0', token: 'admin-token', metricsToken: 'scrape-token', metricsHandler: handler });
  t.after(() => guarded.close());
  const p = guarded.address.port;
  const none = await call(p, 'GET', '/metrics');
  assert.deepEqual([none.status, none.body['error']], [401, 'this endpoint needs "Authorization: Bearer <metricsToken>"']);
  assert.equal((await call(p, 'GET', '/metrics', { headers: { authorization: 'Bearer scrape-token' } })).status, 200);
  assert.equal((await call(p, 'GET', '/metrics', { headers: { authorization: 'Bearer admin-token' } })).status, 200);
  assert.equal((await call(p, 'GET', '/pool', { headers: { authorization: 'Bearer scrape-token' } })).status, 401, 'the metrics token opens /metrics only');
});

test('off loopback the server refuses to start without a token or with a short one', async () => {
  await assert.rejects(startAdminServer({ target: fakeTarget().target, listen: '0.0.0.0:0', token: '' }), /admin token is required when admin listens on a non-loopback address \(0\.0\.0\.0:0\)/);
  await assert.rejects(startAdminServer({ target: fakeTarget().target, listen: '0.0.0.0:0', token: 'short' }), /at least 16 characters/);
  await assert.rejects(startAdminServer({ target: fakeTarget().target, listen: '0.0.0.0:0', token: 'a-token-of-24-characters', metricsToken: ' ' }), /metrics token must be visible ASCII/);
});
