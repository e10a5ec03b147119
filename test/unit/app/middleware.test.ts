import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from '../../../src/app/app';
import type { FinishInfo, Middleware } from '../../../src/app/middleware';
import type { Context } from '../../../src/app/context';
import { HttpError, isHttpError } from '../../../src/http/http-error';

/** A middleware that records `name>` before and `<name` after `next`. */
function trace(log: string[], name: string): Middleware {
  return async (_ctx, next) => {
    log.push(`${name}>`);
    await next();
    log.push(`<${name}`);
  };
}

describe('middleware', () => {
  it('runs app middleware in use order, then route middleware, then the handler, and unwinds in reverse', async () => {
    const log: string[] = [];
    const app = new App();
    app.get('/x', () => {
      log.push('handler');
      return 'ok';
    }, { middleware: [trace(log, 'r1'), trace(log, 'r2')] });
    // Registered after the route: app middleware applies to every route whenever it was added.
    app.use(trace(log, 'a1'), trace(log, 'a2'));
    const res = await app.request('/x');
    assert.equal(res.text(), 'ok');
    assert.deepEqual(log, ['a1>', 'a2>', 'r1>', 'r2>', 'handler', '<r2', '<r1', '<a2', '<a1']);
  });

  it('answers early when a middleware returns without calling next: the handler never runs', async () => {
    let handled = false;
    const app = new App().use((ctx) => (ctx.req.header('x-key') === 'k' ? undefined : (ctx.res.status(401), { error: 'no key' })));
    // A middleware that returns undefined without calling next and without sending is a 500: it answered nothing.
    app.get('/x', () => {
      handled = true;
      return 'secret';
    });
    const refused = await app.request('/x');
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.json(), { error: 'no key' });
    assert.equal(handled, false);
    const odd = await app.request('/x', { headers: { 'x-key': 'k' } });
    assert.equal(odd.status, 500);
    assert.equal(handled, false);
  });

  it('answers early by sending on ctx.res', async () => {
    const app = new App().use((ctx) => ctx.res.redirect('/login')).get('/x', () => 'never');
    const res = await app.request('/x');
    assert.equal(res.status, 302);
    assert.equal(res.headers['location'], '/login');
  });

  it('sees the handler result after next and may change headers, status and the value', async () => {
    const app = new App()
      .use(async (ctx, next) => {
        const value = await next();
        ctx.res.header('X-After', 'yes');
        return { wrapped: value };
      })
      .use(async (ctx, next) => {
        await next();
        ctx.res.status(201);
      })
      .get('/x', () => 'inner');
    const res = await app.request('/x');
    assert.equal(res.status, 201);
    assert.equal(res.headers['x-after'], 'yes');
    assert.deepEqual(res.json(), { wrapped: 'inner' });
  });

  it('cannot change a response the handler already sent, and sees that through ctx.res.sent', async () => {
    let sentSeen: boolean | undefined;
    const app = new App()
      .use(async (ctx, next) => {
        await next();
        sentSeen = ctx.res.sent;
        return 'ignored';
      })
      .get('/x', (ctx) => ctx.res.text('direct'));
    const res = await app.request('/x');
    assert.equal(res.text(), 'direct');
    assert.equal(sentSeen, true);
  });

  it('runs app middleware for unmatched paths (404) and for automatic OPTIONS', async () => {
    const seen: Array<[string, string]> = [];
    const app = new App()
      .use(async (ctx, next) => {
        seen.push([ctx.req.method, ctx.route]);
        return next();
      })
      .get('/x', () => 'x');
    assert.equal((await app.request('/nope')).status, 404);
    const options = await app.request('/x', { method: 'OPTIONS' });
    assert.equal(options.status, 204);
    assert.equal(options.headers['allow'], 'GET, HEAD, OPTIONS');
    const post = await app.request('/x', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.deepEqual(seen, [['GET', '(unmatched)'], ['OPTIONS', '/x'], ['POST', '/x']]);
  });

  it('lets a middleware catch what the handler threw', async () => {
    const app = new App()
      .use(async (ctx, next) => {
        try {
          return await next();
        } catch (err) {
          ctx.res.status(418);
          return { caught: (err as Error).message };
        }
      })
      .get('/x', () => {
        throw new Error('boom');
      });
    const res = await app.request('/x');
    assert.equal(res.status, 418);
    assert.deepEqual(res.json(), { caught: 'boom' });
  });

  it('refuses a second call of next', async () => {
    const app = new App().use(async (_ctx, next) => {
      await next();
      return next();
    }).get('/x', () => 'x');
    const res = await app.request('/x');
    assert.equal(res.status, 500);
  });

  it('runs route middleware before validation, so a guard answers before a bad body is refused', async () => {
    const schema = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: (v: unknown) => (typeof v === 'object' && v !== null && 'n' in v ? { value: v as { n: number } } : { issues: [{ message: 'n missing' }] }),
      },
    };
    let bodyInMiddleware: unknown = 'unset';
    const guard: Middleware = (ctx, next) => {
      bodyInMiddleware = ctx.body;
      if (ctx.req.header('authorization') === undefined) throw new HttpError(401);
      return next();
    };
    const app = new App().post('/x', (ctx) => ({ got: ctx.body.n }), { body: schema, middleware: guard });
    assert.equal((await app.request('/x', { method: 'POST', body: { bad: 1 } })).status, 401);
    assert.equal((await app.request('/x', { method: 'POST', body: { bad: 1 }, headers: { authorization: 'x' } })).status, 400);
    const ok = await app.request('/x', { method: 'POST', body: { n: 2 }, headers: { authorization: 'x' } });
    assert.deepEqual(ok.json(), { got: 2 });
    assert.equal(bodyInMiddleware, undefined);
  });

  it('passes variables from middleware to the handler with ctx.set and ctx.get', async () => {
    const app = new App()
      .use((ctx, next) => {
        ctx.set('user', { name: 'ada' });
        return next();
      })
      .get('/x', (ctx) => ctx.get('user'));
    assert.deepEqual((await app.request('/x')).json(), { name: 'ada' });
  });

  it('puts middleware under the route deadline: a slow middleware gets 504 and its signal aborts', async () => {
    let aborted: unknown;
    const app = new App().use(async (ctx, next) => {
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      aborted = ctx.signal.reason;
      return next();
    });
    app.get('/x', () => 'late', { timeoutMs: 20 });
    const res = await app.request('/x');
    assert.equal(res.status, 504);
    assert.equal(res.result.outcome, 'timeout');
    assert.equal((aborted as DOMException).name, 'TimeoutError');
  });

  it('refuses a middleware that is not a function', () => {
    assert.throws(() => new App().use('x' as unknown as Middleware), TypeError);
    assert.throws(() => new App().get('/', () => 'x', { middleware: [1 as unknown as Middleware] }), TypeError);
  });
});

describe('app.onError', () => {
  it('answers what a handler threw with the value it returns, keeping the status it set on ctx.res', async () => {
    const errors: unknown[] = [];
    const app = new App()
      .onError((err, ctx) => {
        errors.push(err);
        ctx.res.status(isHttpError(err) ? err.status : 503);
        return { error: 'custom', requestId: ctx.requestId };
      })
      .get('/x', () => {
        throw new Error('boom');
      });
    const res = await app.request('/x');
    assert.equal(res.status, 503);
    assert.deepEqual(res.json(), { error: 'custom', requestId: res.headers['x-request-id'] });
    assert.equal((errors[0] as Error).message, 'boom');
    assert.equal(res.result.outcome, 'error');
  });

  it('sees the framework 404, and keeps the default reply when it returns undefined', async () => {
    const seen: number[] = [];
    const app = new App().onError((err) => {
      if (isHttpError(err)) seen.push(err.status);
      return undefined;
    });
    const res = await app.request('/missing');
    assert.equal(res.status, 404);
    assert.equal(res.text(), 'Not Found');
    assert.deepEqual(seen, [404]);
  });

  it('falls back to the default reply when the hook throws', async () => {
    const app = new App()
      .onError(() => {
        throw new Error('hook broke');
      })
      .get('/x', () => {
        throw new HttpError(409, 'taken');
      });
    const res = await app.request('/x');
    assert.equal(res.status, 409);
    assert.equal(res.text(), 'taken');
  });
});

describe('onFinish', () => {
  function recorder(): { hook: (ctx: Context, info: FinishInfo) => void; infos: FinishInfo[] } {
    const infos: FinishInfo[] = [];
    return { infos, hook: (_ctx, info) => void infos.push(info) };
  }

  it('runs after the reply was handed over, with the outcome and status, before dispatch resolves', async () => {
    const { hook, infos } = recorder();
    let writesAtFinish = -1;
    const app = new App().get('/x', () => 'ok');
    app.onFinish((ctx, info) => {
      hook(ctx, info);
      writesAtFinish = info.bytesSent;
    });
    const res = await app.request('/x');
    assert.equal(infos.length, 1);
    assert.equal(infos[0]?.outcome, 'response');
    assert.equal(infos[0]?.status, 200);
    assert.equal(writesAtFinish, res.sink.bytes().length);
  });

  it('runs on a handler error with the error', async () => {
    const { hook, infos } = recorder();
    const app = new App().onFinish(hook).get('/x', () => {
      throw new Error('boom');
    });
    await app.request('/x');
    assert.equal(infos[0]?.outcome, 'error');
    assert.equal(infos[0]?.status, 500);
    assert.equal((infos[0]?.error as Error).message, 'boom');
  });

  it('runs at the deadline (504) and on a client disconnect (aborted)', async () => {
    const { hook, infos } = recorder();
    const app = new App().onFinish(hook);
    app.get('/slow', (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('late'))), { timeoutMs: 20 });
    app.get('/hang', (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('late'))));
    await app.request('/slow');
    const client = new AbortController();
    const pending = app.request('/hang', { signal: client.signal });
    await new Promise((resolve) => setImmediate(resolve));
    client.abort(new Error('client disconnected'));
    const res = await pending;
    assert.equal(res.status, 0);
    assert.deepEqual(infos.map((i) => [i.outcome, i.status]), [['timeout', 504], ['aborted', 0]]);
  });

  it('runs per-request hooks from ctx.onFinish after the app hooks, also without any app hook', async () => {
    const order: string[] = [];
    const plain = new App().get('/x', (ctx) => {
      ctx.onFinish((_c, info) => void order.push(`own:${info.status}`));
      return 'ok';
    });
    await plain.request('/x');
    assert.deepEqual(order, ['own:200']);
    const hooked = new App()
      .onFinish(() => void order.push('app'))
      .get('/x', async (ctx) => {
        ctx.onFinish(() => void order.push('own'));
        await new Promise((resolve) => setImmediate(resolve));
        return 'ok';
      });
    await hooked.request('/x');
    assert.deepEqual(order, ['own:200', 'app', 'own']);
  });

  it('logs a failing hook and keeps the outcome', async () => {
    const app = new App().onFinish(() => {
      throw new Error('hook broke');
    }).get('/x', () => 'ok');
    const res = await app.request('/x');
    assert.equal(res.status, 200);
    assert.equal(res.result.outcome, 'response');
  });
});

describe('ctx.res.onHeaders', () => {
  it('lets middleware add a header to a response the handler sends itself, or streams, or returns', async () => {
    const app = new App()
      .use((ctx, next) => {
        ctx.res.onHeaders((res) => res.cookie('sid', 'abc'));
        return next();
      })
      .get('/sent', (ctx) => ctx.res.redirect('/home'))
      .get('/returned', () => ({ ok: true }))
      .get('/streamed', async (ctx) => {
        const stream = await ctx.res.stream();
        await stream.end('chunk');
      });
    for (const p of ['/sent', '/returned', '/streamed']) {
      const res = await app.request(p);
      assert.equal(res.headers['set-cookie'], 'sid=abc', p);
    }
  });

  it('a throwing hook fails the send like an invalid header: 500, the hook header never sent', async () => {
    const app = new App()
      .use((ctx, next) => {
        ctx.res.onHeaders(() => {
          throw new Error('no');
        });
        return next();
      })
      .get('/x', () => 'x');
    const res = await app.request('/x');
    assert.equal(res.status, 500);
  });
});
