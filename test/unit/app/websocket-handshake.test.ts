import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { App } from '../../../src/app/app';
import { HttpError } from '../../../src/http/http-error';
import { captureLogs, LEVEL } from './log-capture';

const SAMPLE_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

describe('websocket handshake', () => {
  it('answers the full 101 with the accept value Mongrel2 computed (vector 16)', async () => {
    const app = new App().websocket('/ws', { message: () => undefined });
    const hs = await app.websocketHandshake('/ws');
    assert.equal(
      hs.sink.bytes().toString('latin1'),
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${SAMPLE_ACCEPT}\r\n\r\n`,
    );
    assert.equal(hs.closed, false);
    assert.deepEqual(
      { outcome: hs.result.outcome, status: hs.result.status, route: hs.result.route, method: hs.result.method, closed: hs.result.closed },
      { outcome: 'response', status: 101, route: '/ws', method: 'WEBSOCKET_HANDSHAKE', closed: false },
    );
    assert.equal(hs.result.bytesSent, hs.sink.bytes().length);
  });

  it('refuses a Sec-WebSocket-Key that is not base64 of exactly 16 bytes with 400, never 101 (RFC 6455 §4.2.1)', async () => {
    let opened = 0;
    const app = new App().websocket('/ws', { open: () => void (opened += 1), message: () => undefined });
    const bad = ['', 'short', 'dGhlIHNhbXBsZSBub25jZQ', 'dGhlIHNhbXBsZSBub25jZXg=', 'dGhlIHNhbXBsZSBub25jZR==', 'dGhlIHNhbXBsZSBub25j!Q==', `${'A'.repeat(22)}==x`];
    for (const key of bad) {
      const hs = await app.websocketHandshake('/ws', { key });
      assert.equal(hs.status, 400, JSON.stringify(key));
      assert.equal(hs.closed, true);
    }
    const repeated = await app.websocketHandshake('/ws', { headers: { 'sec-websocket-key': ['dGhlIHNhbXBsZSBub25jZQ==', 'dGhlIHNhbXBsZSBub25jZQ=='] } });
    assert.equal(repeated.status, 400);
    assert.equal(opened, 0, 'open never runs for a bad key');
    assert.equal((await app.websocketHandshake('/ws', { key: 'AAAAAAAAAAAAAAAAAAAAAA==' })).status, 101);
  });

  it('gives open the handshake request and params; frames open sends follow the 101', async () => {
    let seen: unknown;
    const app = new App().websocket('/rooms/:room', {
      open: (ctx) => {
        seen = { room: ctx.params['room'], nick: ctx.req.query['nick'], cookie: ctx.req.cookies['sid'], method: ctx.req.method, body: ctx.req.body.length, connId: ctx.connId };
        ctx.send('welcome');
        ctx.send(Buffer.from([1, 2]));
      },
      message: () => undefined,
    });
    const hs = await app.websocketHandshake('/rooms/a%20b?nick=zed', { headers: { cookie: 'sid=42' }, connId: 7 });
    assert.deepEqual(seen, { room: 'a b', nick: 'zed', cookie: '42', method: 'WEBSOCKET_HANDSHAKE', body: 0, connId: 7 });
    assert.equal(hs.status, 101);
    assert.deepEqual(hs.frames.map((f) => [f.opcode, f.payload.toString('hex')]), [[1, Buffer.from('welcome').toString('hex')], [2, '0102']]);
    // The 101 is one write; the frames of open leave together in the next.
    assert.equal(hs.sink.writes.length, 2);
  });

  it('sends a close requested by open after the 101, then closes', async () => {
    const app = new App().websocket('/ws', { open: (ctx) => ctx.close(4000, 'go away'), message: () => undefined });
    const hs = await app.websocketHandshake('/ws');
    assert.equal(hs.status, 101);
    assert.deepEqual(hs.frames.map((f) => [f.opcode, f.closeCode, f.text()]), [[8, 4000, 'go away']]);
    assert.equal(hs.closed, true);
  });

  it('refuses with 403 and closes when open returns false', async () => {
    const { logger, lines } = captureLogs();
    const app = new App({ logger }).websocket('/ws', { open: () => false, message: () => undefined });
    const hs = await app.websocketHandshake('/ws');
    assert.deepEqual([hs.status, hs.headers['connection'], hs.body.toString(), hs.closed], [403, 'close', 'Forbidden', true]);
    assert.deepEqual([hs.result.outcome, hs.result.status, hs.result.closed], ['error', 403, true]);
    assert.deepEqual(lines.filter((l) => l.level === LEVEL.debug).map((l) => [l.msg, l['status']]), [['websocket refused', 403]]);
  });

  it('refuses with the status, message and headers of a thrown HttpError', async () => {
    const app = new App().websocket('/ws', {
      open: async () => {
        throw new HttpError(401, 'token expired', { headers: { 'WWW-Authenticate': 'Bearer' } });
      },
      message: () => undefined,
    });
    const hs = await app.websocketHandshake('/ws');
    assert.deepEqual([hs.status, hs.headers['www-authenticate'], hs.body.toString(), hs.closed], [401, 'Bearer', 'token expired', true]);
  });

  it('answers 500 without the message when open throws anything else, and logs the error', async () => {
    const { logger, lines } = captureLogs();
    const app = new App({ logger }).websocket('/ws', {
      open: () => {
        throw new Error('db down');
      },
      message: () => undefined,
    });
    const hs = await app.websocketHandshake('/ws');
    assert.deepEqual([hs.status, hs.body.toString(), hs.closed, hs.result.outcome], [500, 'Internal Server Error', true, 'error']);
    assert.deepEqual(lines.filter((l) => l.level === LEVEL.error).map((l) => l.msg), ['websocket open failed']);
  });

  it('answers 404 where no websocket route exists, also where HTTP routes exist, logging which at debug', async () => {
    const { logger, lines } = captureLogs();
    const app = new App({ logger }).get('/page', () => 'page').websocket('/ws', { message: () => undefined });
    for (const path of ['/page', '/nothing']) {
      const hs = await app.websocketHandshake(path);
      assert.deepEqual([hs.status, hs.body.toString(), hs.closed, hs.result.outcome, hs.result.route], [404, 'Not Found', true, 'error', '(unmatched)'], path);
    }
    assert.deepEqual(
      lines.filter((l) => l.level === LEVEL.debug).map((l) => [l.msg, l['httpRoutes']]),
      [['websocket handshake to a path with HTTP routes only', true], ['no websocket route', false]],
    );
    // And the other way round: HTTP requests never reach a WebSocket route.
    assert.equal((await app.request('/ws')).status, 404);
  });

  it('lets one path serve a page over HTTP and a websocket', async () => {
    const app = new App().get('/chat', () => 'page').websocket('/chat', { message: (_ctx, msg) => msg.text });
    assert.equal((await app.request('/chat')).text(), 'page');
    assert.equal((await app.websocketHandshake('/chat')).status, 101);
    assert.equal((await app.websocketMessage('/chat', 'hi')).frames[0]?.text(), 'hi');
    assert.deepEqual(app.routes, ['/chat']);
  });

  it('answers 426 with the supported version for another Sec-WebSocket-Version', async () => {
    const app = new App().websocket('/ws', { message: () => undefined });
    const hs = await app.websocketHandshake('/ws', { headers: { 'sec-websocket-version': '8' } });
    assert.deepEqual([hs.status, hs.headers['sec-websocket-version'], hs.closed], [426, '13', true]);
  });

  it('selects the first subprotocol the client offers that the route speaks, in every event', async () => {
    const protocols: Array<string | undefined> = [];
    const app = new App().websocket(
      '/ws',
      {
        open: (ctx) => void protocols.push(ctx.protocol),
        message: (ctx) => ctx.protocol ?? 'none',
      },
      { protocols: ['v2.chat', 'v1.chat'] },
    );
    const hs = await app.websocketHandshake('/ws', { protocols: ['v1.chat', 'v2.chat'] });
    assert.equal(hs.headers['sec-websocket-protocol'], 'v1.chat');
    assert.equal((await app.websocketMessage('/ws', 'x', { protocols: ['v1.chat', 'v2.chat'] })).frames[0]?.text(), 'v1.chat');
    const none = await app.websocketHandshake('/ws', { protocols: ['v3'] });
    assert.equal(none.status, 101);
    assert.equal(none.headers['sec-websocket-protocol'], undefined);
    assert.deepEqual(protocols, ['v1.chat', undefined]);
  });

  it('answers 504 and closes when open outlives the deadline; its signal says TimeoutError', async () => {
    let signal: AbortSignal | undefined;
    const app = new App().websocket(
      '/ws',
      {
        open: async (ctx) => {
          signal = ctx.signal;
          await once(ctx.signal, 'abort');
          ctx.send('too late');
        },
        message: () => undefined,
      },
      { timeoutMs: 20 },
    );
    const hs = await app.websocketHandshake('/ws');
    assert.deepEqual([hs.status, hs.closed, hs.result.outcome, hs.result.status], [504, true, 'timeout', 504]);
    assert.equal(signal?.aborted, true);
    assert.equal((signal?.reason as DOMException).name, 'TimeoutError');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(hs.sink.bytes().includes('too late'), false);
  });

  it('sends nothing when the signal fired first (client gone)', async () => {
    const app = new App().websocket('/ws', { message: () => undefined });
    const hs = await app.websocketHandshake('/ws', { signal: AbortSignal.abort(new Error('gone')) });
    assert.deepEqual([hs.status, hs.sink.writes.length, hs.closed, hs.result.outcome], [0, 0, false, 'aborted']);
  });
});
