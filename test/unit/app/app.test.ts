import assert from 'node:assert/strict';
import { withoutDate } from '../../helpers/http-date';
import { describe, it } from 'node:test';
import { App } from '../../../src/app/app';
import type { Context } from '../../../src/app/context';
import { Handler } from '../../../src/app/handler';
import { ConfigError } from '../../../src/errors';
import { captureLogs, LEVEL } from './log-capture';

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

describe('App handlers', () => {
  it('runs a function handler with params', async () => {
    const app = new App().get('/hello/:name', (ctx) => ctx.res.text(`hello ${ctx.params['name']}`));
    const res = await app.request('/hello/world');
    assert.equal(res.status, 200);
    assert.deepEqual(withoutDate(res.headers), { 'content-type': TEXT, 'content-length': '11' });
    assert.equal(res.text(), 'hello world');
    assert.equal(res.closed, false);
    assert.equal(res.sink.writes.length, 1);
    assert.deepEqual({ ...res.result, durationMs: 0 }, {
      outcome: 'response',
      status: 200,
      route: '/hello/:name',
      method: 'GET',
      bytesSent: res.sink.bytes().length,
      closed: false,
      durationMs: 0,
      requestId: res.headers['x-request-id'],
    });
  });

  it('instantiates a Handler subclass per request and calls prepare then the verb method', async () => {
    const seen: string[] = [];
    const instances = new Set<Handler>();
    class Greeter extends Handler {
      #who = 'nobody';
      override prepare(): void {
        instances.add(this);
        this.#who = this.params['name'] ?? 'missing';
      }
      async get(ctx: Context): Promise<void> {
        seen.push(`get ${this.#who} ${ctx === this.ctx}`);
        await this.res.json({ hello: this.#who });
      }
      post(): string {
        return `posted by ${this.#who}`;
      }
    }
    const app = new App().route(/^\/brubeck\/(?<name>\w+)$/, Greeter);
    const a = await app.request('/brubeck/ann');
    const b = await app.request('/brubeck/bob', { method: 'POST' });
    assert.equal(a.status, 200);
    assert.deepEqual(a.json(), { hello: 'ann' });
    assert.equal(b.text(), 'posted by bob');
    assert.deepEqual(seen, ['get ann true']);
    assert.equal(instances.size, 2);
    assert.equal(a.result.route, '^\\/brubeck\\/(?<name>\\w+)$');
    const put = await app.request('/brubeck/x', { method: 'PUT' });
    assert.equal(put.status, 405);
    assert.equal(put.headers['allow'], 'GET, HEAD, POST, OPTIONS');
  });

  it('routes a verb map', async () => {
    const app = new App().route('/thing', { get: () => 'got', delete: (ctx) => ctx.res.empty(204) });
    assert.equal((await app.request('/thing')).text(), 'got');
    assert.equal((await app.request('/thing', { method: 'DELETE' })).status, 204);
    assert.equal((await app.request('/thing', { method: 'POST' })).headers['allow'], 'GET, HEAD, DELETE, OPTIONS');
  });

  it('refuses a route target with no verbs', () => {
    class Empty extends Handler {}
    assert.throws(() => new App().route('/x', Empty), ConfigError);
    assert.throws(() => new App().route('/x', {}), ConfigError);
  });

  it('uses the route name as the label', async () => {
    const app = new App().get('/users/:id', () => 'u', { name: 'user' });
    assert.equal((await app.request('/users/1')).result.route, 'user');
    assert.deepEqual(app.routes, ['user']);
  });

  it('routes all methods with all()', async () => {
    const app = new App().all('/any', (ctx) => ctx.req.method);
    assert.equal((await app.request('/any', { method: 'PATCH' })).text(), 'PATCH');
    assert.equal((await app.request('/any', { method: 'MKCOL' })).text(), 'MKCOL');
  });
});

describe('App handler return values', () => {
  it('sends a returned string as text/plain with the status the handler set', async () => {
    const app = new App().post('/s', (ctx) => {
      ctx.res.status(201).header('X-Id', '9');
      return 'made';
    });
    const res = await app.request('/s', { method: 'POST' });
    assert.equal(res.status, 201);
    assert.deepEqual(withoutDate(res.headers), { 'x-id': '9', 'content-type': TEXT, 'content-length': '4' });
    assert.equal(res.text(), 'made');
  });

  it('sends a returned Buffer as application/octet-stream', async () => {
    const res = await new App().get('/b', () => Buffer.from([1, 2, 3])).request('/b');
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.deepEqual(res.body, Buffer.from([1, 2, 3]));
  });

  it('sends a returned object, array, number or null as JSON', async () => {
    const app = new App()
      .get('/o', async () => ({ a: [1, 'x'] }))
      .get('/n', () => 42)
      .get('/z', () => null);
    const o = await app.request('/o');
    assert.equal(o.headers['content-type'], JSON_TYPE);
    assert.equal(o.text(), '{"a":[1,"x"]}');
    assert.equal((await app.request('/n')).text(), '42');
    assert.equal((await app.request('/z')).text(), 'null');
  });

  it('sends the response as built when the handler returns ctx.res', async () => {
    const res = await new App().get('/r', (ctx) => ctx.res.status(202).header('X-A', 'b')).request('/r');
    assert.equal(res.status, 202);
    assert.deepEqual(withoutDate(res.headers), { 'x-a': 'b', 'content-length': '0' });
  });

  it('ignores the return value once the handler has sent', async () => {
    const res = await new App()
      .get('/x', async (ctx) => {
        await ctx.res.text('sent');
        return { ignored: true };
      })
      .request('/x');
    assert.equal(res.text(), 'sent');
    assert.equal(res.sink.writes.length, 1);
  });

  it('answers 500 and logs when the handler returns without sending', async () => {
    const { logger, lines } = captureLogs();
    const res = await new App({ logger }).get('/x', () => undefined).request('/x');
    assert.equal(res.status, 500);
    assert.equal(res.text(), 'Internal Server Error');
    assert.equal(res.result.outcome, 'error');
    const errors = lines.filter((l) => l.level === LEVEL.error);
    assert.deepEqual(errors.map((l) => [l.msg, l['route'], l['method']]), [['handler returned without sending a response', '/x', 'GET']]);
  });

  it('ends a stream the handler left open', async () => {
    const { logger, lines } = captureLogs();
    const res = await new App({ logger })
      .get('/s', async (ctx) => {
        const stream = await ctx.res.stream();
        await stream.write('part');
      })
      .request('/s');
    assert.equal(res.text(), 'part');
    assert.equal(res.complete, true);
    assert.equal(res.result.outcome, 'response');
    assert.deepEqual(lines.filter((l) => l.level === LEVEL.warn).map((l) => l.msg), ['handler returned with its response stream open; ending it']);
  });
});

describe('App routing responses', () => {
  it('answers 404 with route (unmatched)', async () => {
    const res = await new App().get('/a', () => 'a').request('/nope?x=1');
    assert.equal(res.status, 404);
    assert.deepEqual(withoutDate(res.headers), { 'content-type': TEXT, 'content-length': '9' });
    assert.equal(res.text(), 'Not Found');
    assert.deepEqual({ outcome: res.result.outcome, route: res.result.route }, { outcome: 'error', route: '(unmatched)' });
  });

  it('answers 405 with the exact Allow header and the route label', async () => {
    const app = new App().get('/items', () => 'list').post('/items', () => 'create');
    const res = await app.request('/items', { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.deepEqual(withoutDate(res.headers), { allow: 'GET, HEAD, POST, OPTIONS', 'content-type': TEXT, 'content-length': '18' });
    assert.equal(res.text(), 'Method Not Allowed');
    assert.deepEqual({ outcome: res.result.outcome, route: res.result.route }, { outcome: 'error', route: '/items' });
  });

  it('answers OPTIONS automatically with 204 and Allow', async () => {
    const res = await new App().get('/items', () => 'list').request('/items', { method: 'OPTIONS' });
    assert.equal(res.status, 204);
    assert.deepEqual(withoutDate(res.headers), { allow: 'GET, HEAD, OPTIONS' });
    assert.equal(res.result.outcome, 'response');
  });

  it('lets a defined OPTIONS handler answer', async () => {
    const app = new App().get('/items', () => 'list').options('/items', (ctx) => ctx.res.header('Allow', 'GET').empty(200));
    const res = await app.request('/items', { method: 'OPTIONS' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['allow'], 'GET');
  });

  it('answers HEAD from the GET handler with Content-Length and no body', async () => {
    const res = await new App().get('/doc', () => ({ big: 'document' })).request('/doc', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.deepEqual(withoutDate(res.headers), { 'content-type': JSON_TYPE, 'content-length': '18' });
    assert.deepEqual(res.body, Buffer.alloc(0));
    assert.equal(res.result.method, 'HEAD');
  });
});

describe('App connection handling', () => {
  it('closes after the response to an HTTP/1.0 request', async () => {
    const res = await new App().get('/', () => 'hi').request('/', { version: 'HTTP/1.0' });
    assert.equal(res.text(), 'hi');
    assert.equal(res.headers['connection'], 'close');
    assert.equal(res.closed, true);
    assert.equal(res.sink.writesAfterClose, 0);
    assert.equal(res.result.closed, true);
  });

  it('keeps an HTTP/1.0 keep-alive connection open', async () => {
    const res = await new App().get('/', () => 'hi').request('/', { version: 'HTTP/1.0', headers: { Connection: 'keep-alive' } });
    assert.equal(res.headers['connection'], 'keep-alive');
    assert.equal(res.closed, false);
  });

  it('closes after the response when the client sent Connection: close', async () => {
    const res = await new App().get('/', () => 'hi').request('/', { headers: { Connection: 'close' } });
    assert.equal(res.headers['connection'], 'close');
    assert.equal(res.closed, true);
  });

  it('closes after framework errors too', async () => {
    const res = await new App().request('/missing', { headers: { connection: 'close' } });
    assert.equal(res.status, 404);
    assert.equal(res.closed, true);
  });

  it('streams chunked output that decodes to the whole body', async () => {
    const app = new App().get('/stream', async (ctx) => {
      const stream = await ctx.res.header('Content-Type', 'text/plain').stream();
      for (const word of ['alpha ', 'beta ', 'gamma']) await stream.write(word);
      await stream.end();
    });
    const res = await app.request('/stream');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.text(), 'alpha beta gamma');
    assert.equal(res.complete, true);
    assert.equal(res.sink.writes.length, 5);
    assert.deepEqual({ outcome: res.result.outcome, bytesSent: res.result.bytesSent }, { outcome: 'response', bytesSent: res.sink.bytes().length });
  });
});

describe('App options', () => {
  it('refuses a bad requestTimeoutMs and a bad route timeout', () => {
    assert.throws(() => new App({ requestTimeoutMs: 0 }), ConfigError);
    assert.throws(() => new App({ requestTimeoutMs: 1.5 }), ConfigError);
    assert.throws(() => new App().get('/', () => 'x', { timeoutMs: -1 }), ConfigError);
  });
});
