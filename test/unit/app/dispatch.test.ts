import assert from 'node:assert/strict';
import { DATE_LINE_BYTES, requestIdLineBytes, withoutDate } from '../../helpers/http-date';
import { describe, it } from 'node:test';
import { App } from '../../../src/app/app';
import { buildRawMessage } from '../../../src/app/testing/testing';
import { HttpError } from '../../../src/http/http-error';
import type { ReplySink } from '../../../src/http/sink';
import { captureLogs, LEVEL } from './log-capture';

function failingSink(failOn: 'write' | 'close'): ReplySink & { closes: number } {
  const sink = {
    closes: 0,
    async write(): Promise<void> {
      if (failOn === 'write') throw new Error('transport gone');
    },
    async close(): Promise<void> {
      sink.closes += 1;
      if (failOn === 'close') throw new Error('close failed');
    },
  };
  return sink;
}

describe('App.dispatch', () => {
  it('resolves with an error outcome when the sink rejects the response, and logs', async () => {
    const { logger, lines } = captureLogs();
    const app = new App({ logger }).get('/', (ctx) => ctx.res.text('hi'));
    const sink = failingSink('write');
    const result = await app.dispatch(buildRawMessage('/'), sink);
    assert.deepEqual(
      { outcome: result.outcome, status: result.status, bytesSent: result.bytesSent, closed: result.closed },
      { outcome: 'error', status: 200, bytesSent: 0, closed: true },
    );
    assert.equal(sink.closes, 1);
    const errors = lines.filter((l) => l.level === LEVEL.error);
    assert.deepEqual(errors.map((l) => [l.msg, (l['err'] as { message: string }).message]), [['handler failed', 'transport gone']]);
  });

  it('resolves when even the framework 404 cannot be written', async () => {
    const { logger, lines } = captureLogs();
    const result = await new App({ logger }).dispatch(buildRawMessage('/x'), failingSink('write'));
    assert.deepEqual({ outcome: result.outcome, status: result.status, bytesSent: result.bytesSent }, { outcome: 'error', status: 404, bytesSent: 0 });
    assert.deepEqual(lines.filter((l) => l.level === LEVEL.warn).map((l) => l.msg), ['could not send error response']);
  });

  it('resolves when close fails after an HTTP/1.0 response', async () => {
    const app = new App().get('/', () => 'hi');
    const result = await app.dispatch(buildRawMessage('/', { version: 'HTTP/1.0' }), failingSink('close'));
    assert.deepEqual({ outcome: result.outcome, status: result.status, closed: result.closed }, { outcome: 'response', status: 200, closed: false });
    const expected = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi';
    assert.equal(result.bytesSent, Buffer.byteLength(expected) + DATE_LINE_BYTES + requestIdLineBytes(result.requestId ?? ''));
  });

  it('uses the per-call logger with route, method and connId bindings', async () => {
    const { logger, lines } = captureLogs();
    const app = new App().get('/x', (ctx) => {
      ctx.log.info('inside');
      return 'ok';
    });
    const msg = buildRawMessage('/x');
    await app.dispatch(msg, { write: async () => undefined, close: async () => undefined }, { logger });
    assert.deepEqual(lines.map((l) => [l.msg, l['route'], l['method'], l['connId']]), [['inside', '/x', 'GET', msg.connId]]);
  });

  it('passes an upload through to req.upload', async () => {
    const app = new App().post('/up', (ctx) => ({ file: ctx.req.upload?.file ?? null }));
    const res = await app.request('/up', { method: 'POST', upload: { file: '/tmp/upload.abc' } });
    assert.deepEqual(res.json(), { file: '/tmp/upload.abc' });
  });

  it('logs a failure that happens after the response was complete and keeps the response outcome', async () => {
    const { logger, lines } = captureLogs();
    const app = new App({ logger }).get('/x', async (ctx) => {
      await ctx.res.text('done');
      throw new Error('cleanup failed');
    });
    const res = await app.request('/x');
    assert.equal(res.text(), 'done');
    assert.equal(res.closed, false);
    assert.equal(res.result.outcome, 'response');
    assert.deepEqual(lines.filter((l) => l.level === LEVEL.error).map((l) => l.msg), ['request failed after its response was sent']);
  });

  it('falls back to the bare status when an HttpError carries an invalid header', async () => {
    const app = new App().get('/x', () => {
      throw new HttpError(429, 'slow down', { headers: { 'Retry-After': '1\r\nX-Evil: 1' } });
    });
    const res = await app.request('/x');
    assert.equal(res.status, 429);
    assert.deepEqual(withoutDate(res.headers), { 'content-type': 'text/plain; charset=utf-8', 'content-length': '17' });
    assert.equal(res.text(), 'Too Many Requests');
  });
});
