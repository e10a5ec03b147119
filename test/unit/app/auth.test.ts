/**
 * The auth guard (issue 21, item 7): a route with `auth: 'api'` answers 401 and one with `auth: 'page'` redirects
 * to the login URL (with `next`) when the app's resolver finds nobody; both run the handler for a user, who is
 * resolved once per request.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from '../../../src/app/app';
import { requireUser } from '../../../src/app/auth';
import { ConfigError } from '../../../src/errors';

function authApp(calls: { n: number }): App {
  const app = new App({
    auth: {
      currentUser: (ctx) => {
        calls.n += 1;
        const user = ctx.req.header('x-user');
        return user === undefined ? undefined : { name: user };
      },
      loginUrl: '/signin',
    },
  });
  app.get('/api/me', async (ctx) => ({ me: await ctx.currentUser(), again: await ctx.currentUser() }), { auth: 'api' });
  app.get('/account', async (ctx) => `page of ${((await ctx.currentUser()) as { name: string }).name}`, { auth: 'page' });
  app.get('/signin', () => 'login form', { auth: 'page' });
  app.get('/open', () => 'open');
  return app;
}

describe('auth guard', () => {
  it('api: 401 without a user; the handler with one (resolved once per request)', async () => {
    const calls = { n: 0 };
    const app = authApp(calls);
    const anon = await app.request('/api/me');
    assert.equal(anon.status, 401);
    assert.equal(anon.text(), 'authentication required');
    calls.n = 0;
    const res = await app.request('/api/me', { headers: { 'x-user': 'ann' } });
    assert.deepEqual(res.json(), { me: { name: 'ann' }, again: { name: 'ann' } });
    assert.equal(calls.n, 1);
  });

  it('page: 303 to the login URL with next=the page asked for; the page for a user', async () => {
    const app = authApp({ n: 0 });
    const anon = await app.request('/account?tab=2');
    assert.equal(anon.status, 303);
    assert.equal(anon.headers['location'], '/signin?next=%2Faccount%3Ftab%3D2');
    assert.equal((await app.request('/account', { headers: { 'x-user': 'bob' } })).text(), 'page of bob');
  });

  it('a guarded login page itself answers 401 instead of redirecting to itself', async () => {
    assert.equal((await authApp({ n: 0 }).request('/signin')).status, 401);
  });

  it('the guard runs before validation (401, not 400, for a bad body without a user); requireUser() as middleware', async () => {
    const app = authApp({ n: 0 });
    const schema = { '~standard': { version: 1 as const, vendor: 't', validate: () => ({ issues: [{ message: 'bad' }] }) } };
    app.post('/api/items', () => 'created', { auth: 'api', body: schema });
    assert.equal((await app.request('/api/items', { method: 'POST', body: { x: 1 } })).status, 401);
    assert.equal((await app.request('/api/items', { method: 'POST', body: { x: 1 }, headers: { 'x-user': 'ann' } })).status, 400);
    const guardedAll = new App({ auth: { currentUser: (ctx) => ctx.req.header('x-user') } });
    guardedAll.use(requireUser('api'));
    guardedAll.get('/x', () => 'x');
    assert.equal((await guardedAll.request('/x')).status, 401);
    assert.equal((await guardedAll.request('/x', { headers: { 'x-user': 'u' } })).text(), 'x');
  });

  it('unguarded routes never call the resolver', async () => {
    const calls = { n: 0 };
    assert.equal((await authApp(calls).request('/open')).text(), 'open');
    assert.equal(calls.n, 0);
  });

  it('a guarded route on an app without auth, or a bad mode, is a ConfigError at registration', () => {
    assert.throws(() => new App().get('/x', () => 'x', { auth: 'api' }), ConfigError);
    assert.throws(() => authApp({ n: 0 }).get('/y', () => 'y', { auth: 'web' as 'api' }), /must be 'api' or 'page'/);
  });
});
