/**
 * `RedisStore` against a real redis-server with the real `redis` client (issue 21, item 6): sessions written by
 * one client are read by another (two workers, two hosts: one Redis), each key carries the session TTL and
 * expires, destroy removes it, and keys stay under the prefix.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { App } from '../../src/app/app';
import { RedisStore } from '../../src/app/session/redis-store';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { waitFor } from '../helpers/wait-for';

describe('RedisStore (real redis-server)', { timeout: 60_000 }, () => {
  let redis: TestRedis;
  let a: ReturnType<typeof createClient>;
  let b: ReturnType<typeof createClient>;

  before(async () => {
    redis = await startTestRedis();
    a = createClient({ url: redis.url });
    b = createClient({ url: redis.url });
    await a.connect();
    await b.connect();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  it('a session written through one client is read through another; destroy removes it', async () => {
    const one = new RedisStore(a);
    const two = new RedisStore(b);
    await one.set('abc', { visits: 3, user: 'ann' }, 60);
    assert.deepEqual(await two.get('abc'), { visits: 3, user: 'ann' });
    assert.equal(await redis.command('EXISTS m2pool:session:abc'), ':1');
    await two.destroy('abc');
    assert.equal(await one.get('abc'), undefined);
  });

  it('each key carries the TTL and expires', async () => {
    const store = new RedisStore(a, { prefix: 'test:' });
    await store.set('ttl', { x: 1 }, 100);
    const ttl = Number((await redis.command('TTL test:ttl')).slice(1));
    assert.ok(ttl > 90 && ttl <= 100, `TTL ${ttl}`);
    await store.set('short', { x: 1 }, 1);
    await waitFor(async () => (await store.get('short')) === undefined, { timeoutMs: 5_000, what: 'the 1 s session to expire' });
  });

  it('counts visits across two apps (two workers) sharing one Redis', async () => {
    const secrets = ['shared-secret-0123456789'];
    const make = (client: typeof a): App => {
      const app = new App({ sessions: { store: new RedisStore(client), secrets } });
      app.get('/visits', async (ctx) => {
        const n = ((await ctx.session.get<number>('visits')) ?? 0) + 1;
        await ctx.session.set('visits', n);
        return String(n);
      });
      return app;
    };
    const apps = [make(a), make(b)];
    const first = await apps[0]!.request('/visits');
    const cookie = String(first.headers['set-cookie']).split(';')[0] as string;
    const counts = [first.text()];
    for (let i = 1; i < 6; i++) counts.push((await apps[i % 2]!.request('/visits', { headers: { cookie } })).text());
    assert.deepEqual(counts, ['1', '2', '3', '4', '5', '6']);
  });
});
