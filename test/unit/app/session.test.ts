/**
 * Sessions through `app.request()` (issue 21, item 6): a counter that keeps counting with the cookie, lazy (a route
 * that does not touch ctx.session reads nothing, and a reading route sets no cookie), regenerate (new id, same
 * data, old id gone), destroy, a tampered cookie starting afresh, the memory store's expiry and its warning in a
 * pool.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { App } from '../../../src/app/app';
import { MemoryStore } from '../../../src/app/session/memory-store';
import type { SessionData, SessionStore } from '../../../src/app/session/store';
import { ConfigError } from '../../../src/errors';

const SECRET = 'session-secret-0123456789';

/** A store that counts its calls, around a MemoryStore. */
class CountingStore implements SessionStore {
  readonly shared = true;
  readonly inner = new MemoryStore();
  calls = 0;
  get(id: string): Promise<SessionData | undefined> {
    this.calls += 1;
    return this.inner.get(id);
  }
  set(id: string, data: SessionData, ttl: number): Promise<void> {
    this.calls += 1;
    return this.inner.set(id, data, ttl);
  }
  destroy(id: string): Promise<void> {
    this.calls += 1;
    return this.inner.destroy(id);
  }
}

function sessionApp(store: SessionStore): App {
  const app = new App({ sessions: { store, secrets: [SECRET] } });
  app.get('/visits', async (ctx) => {
    const n = ((await ctx.session.get<number>('visits')) ?? 0) + 1;
    await ctx.session.set('visits', n);
    return String(n);
  });
  app.get('/peek', async (ctx) => ({ visits: (await ctx.session.get<number>('visits')) ?? null, id: (await ctx.session.id()) ?? null }));
  app.post('/regenerate', async (ctx) => {
    const before = await ctx.session.id();
    await ctx.session.regenerate();
    return { before, after: await ctx.session.id() };
  });
  app.post('/logout', async (ctx) => {
    await ctx.session.destroy();
    return 'bye';
  });
  app.get('/plain', () => 'no session here');
  return app;
}

function cookieOf(res: { headers: Readonly<Record<string, string | string[]>> }): string | undefined {
  const set = res.headers['set-cookie'];
  const first = Array.isArray(set) ? set[0] : set;
  return first?.split(';')[0];
}

describe('ctx.session', () => {
  it('counts visits for a client that keeps its cookie; a new client starts at 1', async () => {
    const app = sessionApp(new MemoryStore());
    const first = await app.request('/visits');
    assert.equal(first.text(), '1');
    const cookie = cookieOf(first);
    assert.match(String(first.headers['set-cookie']), /^m2pool\.sid=[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{43}; Max-Age=86400; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.ok(cookie);
    assert.equal((await app.request('/visits', { headers: { cookie } })).text(), '2');
    assert.equal((await app.request('/visits', { headers: { cookie } })).text(), '3');
    assert.equal((await app.request('/visits')).text(), '1');
  });

  it('is lazy: a route that never touches ctx.session reads nothing and sets no cookie; reading sets none either', async () => {
    const store = new CountingStore();
    const app = sessionApp(store);
    const cookie = cookieOf(await app.request('/visits'));
    store.calls = 0;
    const plain = await app.request('/plain', { headers: { cookie: cookie as string } });
    assert.equal(plain.text(), 'no session here');
    assert.equal(store.calls, 0);
    assert.equal(plain.headers['set-cookie'], undefined);
    const peek = await app.request('/peek');
    assert.equal(peek.headers['set-cookie'], undefined, 'no session was written, so no cookie');
  });

  it('a tampered cookie reads as no session (never the tampered id)', async () => {
    const store = new CountingStore();
    const app = sessionApp(store);
    const cookie = cookieOf(await app.request('/visits')) as string;
    const tampered = cookie.replace(/=(.)/, (_m, c: string) => `=${c === 'A' ? 'B' : 'A'}`);
    store.calls = 0;
    const res = await app.request('/peek', { headers: { cookie: tampered } });
    assert.deepEqual(res.json(), { visits: null, id: null });
    assert.equal(store.calls, 0, 'a cookie that fails its signature is not even looked up');
  });

  it('regenerate: a new id for the same data; the old id no longer works', async () => {
    const app = sessionApp(new MemoryStore());
    const cookie = cookieOf(await app.request('/visits')) as string;
    const regen = await app.request('/regenerate', { method: 'POST', headers: { cookie } });
    const ids = regen.json() as { before: string; after: string };
    assert.notEqual(ids.before, ids.after);
    const newCookie = cookieOf(regen) as string;
    assert.ok(newCookie.startsWith(`m2pool.sid=${ids.after}.`));
    assert.deepEqual((await app.request('/peek', { headers: { cookie: newCookie } })).json(), { visits: 1, id: ids.after });
    assert.deepEqual((await app.request('/peek', { headers: { cookie } })).json(), { visits: null, id: null });
  });

  it('destroy: the data is gone and the cookie expired', async () => {
    const app = sessionApp(new MemoryStore());
    const cookie = cookieOf(await app.request('/visits')) as string;
    const out = await app.request('/logout', { method: 'POST', headers: { cookie } });
    assert.match(String(out.headers['set-cookie']), /^m2pool\.sid=; Max-Age=0/);
    assert.deepEqual((await app.request('/peek', { headers: { cookie } })).json(), { visits: null, id: null });
  });

  it('works on the middleware path too: a middleware can read the session the handler writes', async () => {
    const app = sessionApp(new MemoryStore());
    const seen: unknown[] = [];
    app.use(async (ctx, next) => {
      const value = await next();
      seen.push(await ctx.session.get('visits'));
      return value;
    });
    const first = await app.request('/visits');
    const cookie = cookieOf(first) as string;
    assert.equal((await app.request('/visits', { headers: { cookie } })).text(), '2');
    assert.deepEqual(seen, [1, 2]);
  });

  it('ctx.session without sessions configured is a ConfigError (500, logged)', async () => {
    const app = new App();
    let caught: unknown;
    app.get('/', (ctx) => {
      try {
        return ctx.session;
      } catch (err) {
        caught = err;
        throw err;
      }
    });
    assert.equal((await app.request('/')).status, 500);
    assert.ok(caught instanceof ConfigError);
  });
});

describe('MemoryStore', () => {
  it('expires a session after its TTL', async () => {
    let now = 1_000_000;
    const store = new MemoryStore({ now: () => now });
    await store.set('a', { x: 1 }, 10);
    now += 9_999;
    assert.deepEqual(await store.get('a'), { x: 1 });
    now += 1;
    assert.equal(await store.get('a'), undefined);
  });

  it('keeps at most maxSessions, dropping the oldest', async () => {
    const store = new MemoryStore({ maxSessions: 2 });
    await store.set('a', {}, 60);
    await store.set('b', {}, 60);
    await store.set('c', {}, 60);
    assert.equal(await store.get('a'), undefined);
    assert.deepEqual(await store.get('c'), {});
  });

  it('warns once (session.store.unshared) when run in a pool that can have more than one worker', async (t) => {
    const saved = { slot: process.env['M2POOL_WORKER_SLOT'], max: process.env['M2POOL_POOL_MAX_WORKERS'] };
    t.after(() => {
      for (const [k, v] of [['M2POOL_WORKER_SLOT', saved.slot], ['M2POOL_POOL_MAX_WORKERS', saved.max]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString()) as Record<string, unknown>), cb()) }));
    const run = async (slot: string | undefined, max: string | undefined): Promise<number> => {
      if (slot === undefined) delete process.env['M2POOL_WORKER_SLOT'];
      else process.env['M2POOL_WORKER_SLOT'] = slot;
      if (max === undefined) delete process.env['M2POOL_POOL_MAX_WORKERS'];
      else process.env['M2POOL_POOL_MAX_WORKERS'] = max;
      lines.length = 0;
      const app = sessionApp(new MemoryStore());
      await app.request('/visits', { logger });
      await app.request('/visits', { logger });
      return lines.filter((l) => l['event'] === 'session.store.unshared').length;
    };
    assert.equal(await run('0', '4'), 1, 'pool of up to 4: warned once');
    assert.equal(await run('0', '1'), 0, 'a pool of one worker shares nothing it could miss');
    assert.equal(await run(undefined, undefined), 0, 'not in a pool (app.request, m2pool serve)');
  });
});
