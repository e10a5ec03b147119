/**
 * The HTTP front with an app in this process, over real node:http sockets: streamed responses (node re-frames
 * the app's chunks), the body limit, WebSocket upgrades refused, and the drain on stop.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import express from 'express';
import { App } from '../../../src/app/app';
import { NodeHttpAdapter } from '../../../src/adapters/node-http';
import type { WorkerApp } from '../../../src/adapters/app-contract';
import { HttpFront } from '../../../src/http-front/front';
import { HttpConnection, buildRequest, rawRequest } from '../../helpers/http-client';

const logger = pino({ level: 'silent' });

/** Resolves a request that waits for the test, to hold it in flight. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

async function serve(t: TestContext, app: WorkerApp, maxBodyBytes = 1_000): Promise<{ front: HttpFront; port: number }> {
  const front = new HttpFront({ app, logger, maxBodyBytes });
  const { port } = await front.listen('127.0.0.1', 0);
  t.after(() => front.stop(0));
  return { front, port };
}

test('a streamed response arrives whole, chunked by node (the app chunks are not sent twice); HTTP/1.0 gets it close-delimited', async (t) => {
  const app = new App();
  app.get('/stream', async (ctx) => {
    const s = await ctx.res.header('Content-Type', 'text/plain').stream();
    await s.write('one ');
    await s.write(Buffer.from('two '));
    await s.end('three');
  });
  const { port } = await serve(t, app);
  const res = await rawRequest(port, { path: '/stream' });
  assert.equal(res.status, 200);
  assert.equal(res.header('transfer-encoding'), 'chunked');
  assert.equal(res.body.toString(), 'one two three');
  const old = await rawRequest(port, { path: '/stream', version: 'HTTP/1.0' }, { awaitClose: true });
  assert.equal(old.body.toString(), 'one two three');
  assert.equal(old.closedAfter, true);
});

test('a body over the limit is 413 and the connection closed; one at the limit is served', async (t) => {
  const app = new App();
  app.post('/echo', (ctx) => ctx.req.body.toString());
  const { port } = await serve(t, app, 10);
  const big = await rawRequest(port, { method: 'POST', path: '/echo', body: 'x'.repeat(11) }, { awaitClose: true });
  assert.equal(big.status, 413);
  assert.equal(big.closedAfter, true);
  const ok = await rawRequest(port, { method: 'POST', path: '/echo', body: 'x'.repeat(10) });
  assert.equal(ok.body.toString(), 'x'.repeat(10));
});

test('a WebSocket upgrade is answered 501 with the reason', async (t) => {
  const { port } = await serve(t, new App());
  const res = await rawRequest(port, { path: '/ws', headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']] }, { awaitClose: true });
  assert.equal(res.status, 501);
  assert.match(res.body.toString(), /serve WebSocket routes through Mongrel2/);
});

test('stop: an in-flight request finishes within the drain budget, then the server is closed', async (t) => {
  const app = new App();
  const held = gate();
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  app.get('/held', async () => {
    entered();
    await held.wait;
    return 'finished';
  });
  const { front, port } = await serve(t, app);
  const conn = await HttpConnection.open(port);
  t.after(() => conn.close());
  conn.send(buildRequest({ path: '/held' }));
  await inHandler;
  const stopped = front.stop(30_000);
  assert.equal(front.inFlight, 1);
  held.open();
  assert.equal((await conn.read()).body.toString(), 'finished');
  await stopped;
  assert.equal(front.server.listening, false);
});

test('stop: what outlives the drain budget is aborted and answered 503', async (t) => {
  const app = new App();
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  app.get('/forever', async (ctx) => {
    entered();
    await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
  });
  const { front, port } = await serve(t, app);
  const conn = await HttpConnection.open(port);
  t.after(() => conn.close());
  conn.send(buildRequest({ path: '/forever' }));
  await inHandler;
  const stopped = front.stop(0);
  assert.equal((await conn.read()).status, 503);
  await stopped;
});

test('a node:http app hands over its head and body as they are: headers from writeHead, two Set-Cookie lines, HEAD with its length', async (t) => {
  const app = new NodeHttpAdapter((req, res) => {
    res.setHeader('X-Set', 'early');
    res.writeHead(201, [['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['Content-Type', 'text/plain']].flat());
    res.end(req.method === 'HEAD' ? undefined : 'made');
  });
  const { port } = await serve(t, app);
  const res = await rawRequest(port, { path: '/' });
  assert.deepEqual([res.status, res.headers['set-cookie'], res.header('x-set'), res.header('content-type'), res.body.toString()], [201, ['a=1', 'b=2'], 'early', 'text/plain', 'made']);
  const head = await rawRequest(port, { path: '/', method: 'HEAD' });
  assert.deepEqual([head.status, head.body.length], [201, 0]);
});

test('a node:http app that streams: node frames the body once (no chunk framing inside it); HTTP/1.0 gets it close-delimited', async (t) => {
  const app = new NodeHttpAdapter((_req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    res.write('one ');
    setImmediate(() => {
      res.write('two ');
      res.end('three');
    });
  });
  const { port } = await serve(t, app);
  const res = await rawRequest(port, { path: '/stream' });
  assert.deepEqual([res.status, res.header('transfer-encoding'), res.body.toString()], [200, 'chunked', 'one two three']);
  const old = await rawRequest(port, { path: '/stream', version: 'HTTP/1.0' }, { awaitClose: true });
  assert.deepEqual([old.body.toString(), old.closedAfter], ['one two three', true]);
});

test('an Express app: res.send with its length, res.json, a 304 from its ETag check', async (t) => {
  const ex = express();
  ex.get('/text', (_req, res) => void res.send('hello'));
  ex.get('/json', (_req, res) => void res.status(202).json({ ok: true }));
  const { port } = await serve(t, new NodeHttpAdapter(ex));
  const text = await rawRequest(port, { path: '/text' });
  assert.deepEqual([text.status, text.header('content-length'), text.body.toString()], [200, '5', 'hello']);
  const json = await rawRequest(port, { path: '/json' });
  assert.deepEqual([json.status, json.header('content-type'), JSON.parse(json.body.toString())], [202, 'application/json; charset=utf-8', { ok: true }]);
  const etag = text.header('etag') ?? '';
  const again = await rawRequest(port, { path: '/text', headers: [['If-None-Match', etag]] });
  assert.deepEqual([again.status, again.body.length], [304, 0]);
});

test('a WorkerApp that writes raw HTTP bytes is refused under the node:http front: the client gets a 500, the server stays up', async (t) => {
  const raw: WorkerApp = {
    async dispatch(_msg, sink) {
      await sink.write(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
      return { outcome: 'response', status: 200, route: 'raw', method: 'GET', bytesSent: 0, closed: false, durationMs: 0 };
    },
  };
  const { port } = await serve(t, raw);
  const res = await rawRequest(port, { path: '/' }, { awaitClose: true });
  assert.deepEqual([res.status, res.body.toString()], [500, 'incomplete response from the app\n']);
  const again = await rawRequest(port, { path: '/' }, { awaitClose: true });
  assert.equal(again.status, 500);
});
