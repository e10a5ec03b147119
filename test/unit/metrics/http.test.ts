import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { CONTENT_TYPES, PoolMetrics, serveMetrics } from '../../../src/metrics';
import { workerSnapshot } from './support';

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Serve `handler` on an ephemeral port for the duration of the test. */
async function serve(t: TestContext, handler: RequestListener): Promise<(method: string, headers?: Record<string, string>) => Promise<Reply>> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  return (method, headers = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port, path: '/metrics', method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      r.on('error', reject);
      r.setTimeout(5000, () => r.destroy(new Error('request timed out')));
      r.end();
    });
}

async function pool(): Promise<PoolMetrics> {
  const p = new PoolMetrics({ defaultMetrics: false, now: () => 5000 }); // fixed clock: ages are stable
  p.ingest({ slot: 0, generation: 1, pid: 1 }, await workerSnapshot(2));
  return p;
}

describe('handleMetricsRequest', () => {
  test('answers GET with the Prometheus text format by default', async (t: TestContext) => {
    const p = await pool();
    const get = await serve(t, p.handleMetricsRequest);
    const r = await get('GET');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], CONTENT_TYPES.prometheus);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.body, await p.render('prometheus'));
    assert.match(r.body, /^m2pool_requests_total\{route="\/",method="GET",status_class="2xx"\} 2$/m);
  });

  test('answers OpenMetrics when the Accept header asks for it, as Prometheus does', async (t: TestContext) => {
    const p = await pool();
    const get = await serve(t, p.handleMetricsRequest);
    const r = await get('GET', { Accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], CONTENT_TYPES.openmetrics);
    assert.equal(r.headers['vary'], 'Accept');
    assert.ok(r.body.endsWith('# EOF\n'));
  });

  test('answers HEAD with headers only', async (t: TestContext) => {
    const p = await pool();
    const head = await serve(t, p.handleMetricsRequest);
    const r = await head('HEAD');
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
    assert.equal(Number(r.headers['content-length']), Buffer.byteLength(await p.render()));
  });

  test('refuses other methods with 405 and Allow', async (t: TestContext) => {
    const post = await serve(t, (await pool()).handleMetricsRequest);
    const r = await post('POST');
    assert.equal(r.status, 405);
    assert.equal(r.headers['allow'], 'GET, HEAD');
  });

  test('turns a render failure into a 500 and reports it', async (t: TestContext) => {
    const errors: unknown[] = [];
    const failing = { render: (): Promise<string> => Promise.reject(new Error('boom')) };
    const get = await serve(t, (req, res) => serveMetrics(failing, req, res, (err) => errors.push(err)));
    const r = await get('GET');
    assert.equal(r.status, 500);
    assert.equal(r.body, 'metrics unavailable\n');
    assert.deepEqual(errors.map((e) => (e as Error).message), ['boom']);
  });
});
