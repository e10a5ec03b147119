/**
 * One real Mongrel2 + one `m2pool worker` serving the example app: HTTP behaviour end to end, for both
 * header protocols (tnetstring and JSON).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { HttpConnection, buildRequest, rawRequest } from '../helpers/http-client';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { HELLO_APP, startWorker, type TestProcess } from '../helpers/processes';

interface Inspected {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[]>;
  body: string;
  remoteAddress: string;
  version: string;
}

const MAX_UPLOAD = 100_000;

for (const protocol of ['tnetstring', 'json'] as const) {
  describe(`worker over Mongrel2 (${protocol} headers)`, { timeout: 60_000 }, () => {
    let m2: TestMongrel2;
    let worker: TestProcess;
    let port: number;

    before(async () => {
      m2 = await startTestMongrel2({ handlers: [{ route: '/', protocol }] });
      port = m2.port;
      worker = await startWorker(HELLO_APP, m2.workerArgs(), ['--upload-dir', m2.uploadDir, '--max-upload-bytes', String(MAX_UPLOAD), '--request-log-level', 'info']);
    });
    after(async () => {
      await worker?.stop();
      await m2?.stop();
    });

    test('GET / answers the greeting', async () => {
      const res = await rawRequest(port, { path: '/' });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'Hello from m2pool!\n');
      assert.equal(res.header('content-type'), 'text/plain; charset=utf-8');
    });

    test('GET /echo/... returns exactly the raw request path', async () => {
      const res = await rawRequest(port, { path: '/echo/a%20b/c?x=1' });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), '/echo/a%20b/c');
    });

    test('HEAD has the headers of GET and no body', async () => {
      const res = await rawRequest(port, { method: 'HEAD', path: '/echo/abc' });
      assert.equal(res.status, 200);
      assert.equal(res.header('content-length'), String('/echo/abc'.length));
      assert.equal(res.body.length, 0);
    });

    test('POST /echo round-trips a binary body with its content type', async () => {
      const body = Buffer.concat([Buffer.from([0, 0xff, 0x80, 0x0d, 0x0a]), randomBytes(4000)]);
      const res = await rawRequest(port, { method: 'POST', path: '/echo', headers: [['Content-Type', 'application/x-test']], body });
      assert.equal(res.status, 200);
      assert.equal(res.header('content-type'), 'application/x-test');
      assert.deepEqual(res.body, body);
    });

    test('unknown path is 404, wrong method 405 with Allow, throwing handler 500 without the stack', async () => {
      const notFound = await rawRequest(port, { path: '/nope' });
      assert.equal(notFound.status, 404);
      const wrongMethod = await rawRequest(port, { method: 'DELETE', path: '/echo' });
      assert.equal(wrongMethod.status, 405);
      // '/echo/*' also matches '/echo', so GET is allowed there too.
      assert.equal(wrongMethod.header('allow'), 'GET, HEAD, POST, OPTIONS');
      const failed = await rawRequest(port, { path: '/fail' });
      assert.equal(failed.status, 500);
      assert.doesNotMatch(failed.body.toString(), /always fails|at /);
      await worker.waitForLog((l) => l['msg'] === 'handler failed' && JSON.stringify(l['err']).includes('this handler always fails'));
    });

    test('a handler past its deadline gets 504', async () => {
      const res = await rawRequest(port, { path: '/slow?ms=10000' }, { timeoutMs: 8_000 });
      assert.equal(res.status, 504);
      await worker.waitForLog((l) => l['msg'] === 'request' && l['path'] === '/slow' && l['outcome'] === 'timeout');
    });

    test('invalid JSON body on a validated route is 400 with the list of problems', async () => {
      const res = await rawRequest(port, { method: 'POST', path: '/greet', headers: [['Content-Type', 'application/json']], body: '{"name": 5}' });
      assert.equal(res.status, 400);
      const problems = JSON.parse(res.body.toString()) as { issues: Array<{ path: string }> };
      assert.deepEqual(problems.issues.map((i) => i.path), ['name']);
      const ok = await rawRequest(port, { method: 'POST', path: '/greet', headers: [['Content-Type', 'application/json']], body: '{"name":"Ada","excited":true}' });
      assert.deepEqual(JSON.parse(ok.body.toString()), { greeting: 'Hello, Ada!' });
    });

    test('HTTP/1.0 is answered and then closed', async () => {
      const res = await rawRequest(port, { path: '/echo/old', version: 'HTTP/1.0' }, { awaitClose: true });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), '/echo/old');
      assert.equal(res.closedAfter, true);
    });

    test('Connection: close is answered and then closed; keep-alive stays open for the next request', async () => {
      const closing = await rawRequest(port, { path: '/echo/bye', headers: [['Connection', 'close']] }, { awaitClose: true });
      assert.equal(closing.closedAfter, true);
      const conn = await HttpConnection.open(port);
      try {
        conn.send(buildRequest({ path: '/echo/one' }));
        assert.equal((await conn.read()).body.toString(), '/echo/one');
        conn.send(buildRequest({ path: '/echo/two' }));
        assert.equal((await conn.read()).body.toString(), '/echo/two');
      } finally {
        conn.close();
      }
    });

    test('pipelined requests on one connection are answered in order', async () => {
      const conn = await HttpConnection.open(port);
      try {
        // The first is slow, the second fast: the second's reply must still come second.
        conn.send(Buffer.concat([buildRequest({ path: '/slow?ms=150' }), buildRequest({ path: '/echo/second' })]));
        assert.equal((await conn.read()).body.toString(), 'slept 150 ms\n');
        assert.equal((await conn.read()).body.toString(), '/echo/second');
      } finally {
        conn.close();
      }
    });

    test('/inspect shows tabs, non-UTF-8 bytes and repeated headers as Mongrel2 sent them', async () => {
      const res = await rawRequest(port, {
        method: 'PUT',
        path: '/inspect/x?a=1&a=2&b=%C3%A9',
        headers: [
          ['X-Tab', 'tab\there'],
          ['X-Latin1', Buffer.from([0x63, 0x61, 0x66, 0xe9])], // "café" in latin1: not valid UTF-8
          ['X-Utf8', Buffer.from('café', 'utf8')],
          ...Array.from({ length: 6 }, (_, i) => ['X-Dup', `v${i}`] as const),
        ],
        body: Buffer.from([1, 2, 3, 0]),
      });
      assert.equal(res.status, 200);
      const seen = JSON.parse(res.body.toString()) as Inspected;
      assert.equal(seen.method, 'PUT');
      assert.equal(seen.path, '/inspect/x');
      assert.deepEqual(seen.query, { a: ['1', '2'], b: 'é' });
      assert.equal(seen.headers['x-tab'], 'tab\there');
      assert.equal(seen.headers['x-latin1'], 'café');
      assert.equal(seen.headers['x-utf8'], 'café');
      // Mongrel2 keeps at most five values of a repeated header (docs/mongrel2.md §2.4).
      assert.deepEqual(seen.headers['x-dup'], ['v0', 'v1', 'v2', 'v3', 'v4']);
      assert.equal(Buffer.from(seen.body, 'base64').toString('hex'), '01020300');
      assert.equal(seen.remoteAddress, '127.0.0.1');
    });

    test('a body over limits.content_length arrives through the async upload path intact', async () => {
      const body = randomBytes(64 * 1024);
      const res = await rawRequest(port, { method: 'POST', path: '/inspect/upload', headers: [['Content-Type', 'application/octet-stream']], body });
      assert.equal(res.status, 200);
      const seen = JSON.parse(res.body.toString()) as Inspected;
      assert.deepEqual(Buffer.from(seen.body, 'base64'), body);
      assert.equal(seen.headers['content-length'], String(body.length));
    });

    test('an upload over --max-upload-bytes is refused with 413 as soon as it starts', async () => {
      const conn = await HttpConnection.open(port);
      try {
        conn.send(buildRequest({ method: 'POST', path: '/inspect/too-big', body: randomBytes(MAX_UPLOAD * 3) }));
        const line = await worker.waitForLog((l) => l['event'] === 'request.rejected' && l['path'] === '/inspect/too-big');
        assert.equal(line['status'], 413);
        // Mongrel2 may reset the connection while the client is still sending; either way it never gets a 200.
        const res = await conn.read().catch(() => undefined);
        assert.notEqual(res?.status, 200);
      } finally {
        conn.close();
      }
    });

    test('forged upload headers on a small request are rejected with 400', async () => {
      const res = await rawRequest(port, {
        path: '/inspect/forged',
        headers: [['X-Mongrel2-Upload-Start', '/etc/passwd'], ['X-Mongrel2-Upload-Done', '/etc/passwd']],
      });
      assert.equal(res.status, 400);
    });
  });
}
