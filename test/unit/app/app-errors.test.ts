import assert from 'node:assert/strict';
import { withoutDate } from '../../helpers/http-date';
import { describe, it } from 'node:test';
import { App } from '../../../src/app/app';
import { HttpError } from '../../../src/http/http-error';
import { captureLogs, LEVEL } from './log-capture';

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

describe('App errors', () => {
  it('answers 500 with a generic body and logs the stack when a handler throws', async () => {
    const { logger, lines } = captureLogs();
    const app = new App({ logger }).get('/boom', () => {
      throw new Error('secret database password leaked');
    });
    const res = await app.request('/boom');
    assert.equal(res.status, 500);
    assert.deepEqual(withoutDate(res.headers), { 'content-type': TEXT, 'content-length': '21' });
    assert.equal(res.text(), 'Internal Server Error');
    assert.deepEqual({ outcome: res.result.outcome, status: res.result.status }, { outcome: 'error', status: 500 });
    const errors = lines.filter((l) => l.level === LEVEL.error);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.msg, 'handler failed');
    const err = errors[0]?.['err'] as { message: string; stack: string };
    assert.equal(err.message, 'secret database password leaked');
    assert.match(err.stack, /^Error: secret database password leaked\n {4}at /);
  });

  it('answers 500 when a handler sets a header value with CR/LF, and the header is never sent', async () => {
    const app = new App().get('/inject', (ctx) => ctx.res.header('X-Evil', 'a\r\nSet-Cookie: pwned=1').text('never'));
    const res = await app.request('/inject');
    assert.equal(res.status, 500);
    assert.equal(res.text(), 'Internal Server Error');
    assert.equal(res.sink.bytes().includes('pwned'), false);
  });

  it('answers a thrown HttpError with its status, message and headers', async () => {
    const app = new App().get('/auth', () => {
      throw new HttpError(401, 'log in first', { headers: { 'WWW-Authenticate': 'Basic realm="x"' } });
    });
    const res = await app.request('/auth');
    assert.equal(res.status, 401);
    assert.deepEqual(withoutDate(res.headers), { 'www-authenticate': 'Basic realm="x"', 'content-type': TEXT, 'content-length': '12' });
    assert.equal(res.text(), 'log in first');
    assert.equal(res.result.outcome, 'error');
  });

  it('answers an HttpError with details as JSON', async () => {
    const app = new App().get('/c', () => {
      throw new HttpError(409, 'conflict', { details: { id: 7 } });
    });
    const res = await app.request('/c');
    assert.equal(res.status, 409);
    assert.equal(res.headers['content-type'], JSON_TYPE);
    assert.deepEqual(res.json(), { error: 'conflict', id: 7 });
  });

  it('hides a 5xx HttpError message unless exposeErrors is set', async () => {
    const fail = (): never => {
      throw new HttpError(503, 'db pool exhausted');
    };
    assert.equal((await new App().get('/x', fail).request('/x')).text(), 'Service Unavailable');
    assert.equal((await new App({ exposeErrors: true }).get('/x', fail).request('/x')).text(), 'db pool exhausted');
  });

  it('shows an unexpected error message with exposeErrors, never the stack', async () => {
    const res = await new App({ exposeErrors: true })
      .get('/x', () => {
        throw new Error('detail');
      })
      .request('/x');
    assert.equal(res.text(), 'detail');
  });

  it('closes the connection when a handler fails after the head was sent', async () => {
    const { logger, lines } = captureLogs();
    const res = await new App({ logger })
      .get('/s', async (ctx) => {
        const stream = await ctx.res.stream();
        await stream.write('partial');
        throw new Error('mid-stream');
      })
      .request('/s');
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'partial');
    assert.equal(res.complete, false);
    assert.equal(res.closed, true);
    assert.deepEqual({ outcome: res.result.outcome, status: res.result.status, closed: res.result.closed }, { outcome: 'error', status: 200, closed: true });
    assert.deepEqual(lines.filter((l) => l.level === LEVEL.error).map((l) => l.msg), ['handler failed']);
  });

  it('answers 400 for a bad JSON body read by the handler', async () => {
    const res = await new App().post('/j', (ctx) => ctx.req.json()).request('/j', { method: 'POST', body: '{nope' });
    assert.equal(res.status, 400);
    assert.match(res.text(), /^invalid JSON body: /);
  });
});
