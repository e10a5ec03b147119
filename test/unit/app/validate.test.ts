import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { App } from '../../../src/app/app';
import { Handler } from '../../../src/app/handler';
import { lazySchema, validate, type StandardSchema } from '../../../src/app/validate';

const JSON_TYPE = 'application/json; charset=utf-8';

const User = z.object({
  name: z.string().min(1),
  tags: z.array(z.string()).max(2),
  address: z.object({ zip: z.string().regex(/^\d{5}$/) }),
});

describe('body validation', () => {
  it('answers 400 with every issue and a dotted path, without calling the handler', async () => {
    let called = false;
    const app = new App().post(
      '/users',
      () => {
        called = true;
        return 'created';
      },
      { body: User },
    );
    const res = await app.request('/users', { method: 'POST', body: { name: '', tags: ['a', 'b', 'c'], address: { zip: 'x' } } });
    assert.equal(res.status, 400);
    assert.equal(res.headers['content-type'], JSON_TYPE);
    assert.deepEqual(res.json(), {
      error: 'validation failed',
      issues: [
        { path: 'name', message: 'Too small: expected string to have >=1 characters' },
        { path: 'tags', message: 'Too big: expected array to have <=2 items' },
        { path: 'address.zip', message: 'Invalid string: must match pattern /^\\d{5}$/' },
      ],
    });
    assert.equal(res.result.outcome, 'error');
    assert.equal(called, false);
  });

  it('passes the parsed, typed body to the handler', async () => {
    const app = new App().post(
      '/users',
      (ctx) => {
        const name: string = ctx.body.name;
        const zip: string = ctx.body.address.zip;
        return { name, zip, tags: ctx.body.tags.length };
      },
      { body: User },
    );
    const res = await app.request('/users', { method: 'POST', body: { name: 'ann', tags: ['x'], address: { zip: '12345' }, extra: 1 } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { name: 'ann', zip: '12345', tags: 1 });
  });

  it('numbers array indexes in issue paths', async () => {
    const app = new App().put('/items', () => 'ok', { body: z.object({ items: z.array(z.object({ n: z.number() })) }) });
    const res = await app.request('/items', { method: 'PUT', body: { items: [{ n: 1 }, { n: 'x' }] } });
    assert.deepEqual(res.json(), { error: 'validation failed', issues: [{ path: 'items.1.n', message: 'Invalid input: expected number, received string' }] });
  });

  it('validates an empty body as undefined, with an empty path for the root', async () => {
    const res = await new App().post('/users', () => 'ok', { body: User }).request('/users', { method: 'POST' });
    assert.deepEqual(res.json(), { error: 'validation failed', issues: [{ path: '', message: 'Invalid input: expected object, received undefined' }] });
  });

  it('answers 400 for malformed JSON before validating', async () => {
    const res = await new App().post('/users', () => 'ok', { body: User }).request('/users', { method: 'POST', body: '{"name":' });
    assert.equal(res.status, 400);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.match(res.text(), /^invalid JSON body: /);
  });

  it('validates a urlencoded form body', async () => {
    const Login = z.object({ user: z.string(), remember: z.enum(['on']).optional() });
    const app = new App().post('/login', (ctx) => ({ user: ctx.body.user, remember: ctx.body.remember ?? 'off' }), { body: Login });
    const res = await app.request('/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'user=ann&remember=on',
    });
    assert.deepEqual(res.json(), { user: 'ann', remember: 'on' });
  });

  it('does not validate a body on GET', async () => {
    const app = new App().route('/users', { get: (ctx) => ({ body: ctx.body ?? null }), post: () => 'made' }, { body: User });
    assert.deepEqual((await app.request('/users')).json(), { body: null });
    assert.equal((await app.request('/users', { method: 'POST', body: {} })).status, 400);
  });

  it('types ctx.body in a Handler subclass through its type parameter', async () => {
    const Create = z.object({ title: z.string() });
    class Notes extends Handler<z.output<typeof Create>> {
      post(): string {
        return `note: ${this.ctx.body.title}`;
      }
    }
    const app = new App().route('/notes', Notes, { body: Create });
    assert.equal((await app.request('/notes', { method: 'POST', body: { title: 'hi' } })).text(), 'note: hi');
  });
});

describe('query validation', () => {
  it('passes the coerced query to the handler', async () => {
    const Page = z.object({ page: z.coerce.number().int().min(1), tag: z.array(z.string()).optional() });
    const app = new App().get('/list', (ctx) => {
      const page: number = ctx.query.page;
      return { page, tag: ctx.query.tag ?? [] };
    }, { query: Page });
    assert.deepEqual((await app.request('/list?page=3&tag=a&tag=b')).json(), { page: 3, tag: ['a', 'b'] });
  });

  it('answers 400 for an invalid query', async () => {
    const app = new App().get('/list', () => 'ok', { query: z.object({ page: z.coerce.number() }) });
    const res = await app.request('/list?page=x');
    assert.equal(res.status, 400);
    assert.deepEqual(res.json(), { error: 'validation failed', issues: [{ path: 'page', message: 'Invalid input: expected number, received NaN' }] });
  });

  it('gives req.query as ctx.query without a schema', async () => {
    const res = await new App().get('/q', (ctx) => ({ ...ctx.query })).request('/q?a=1&a=2&b=3');
    assert.deepEqual(res.json(), { a: ['1', '2'], b: '3' });
  });
});

describe('validate with any Standard Schema', () => {
  const Even: StandardSchema<number> = {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: async (value) =>
        typeof value === 'number' && value % 2 === 0
          ? { value }
          : { issues: [{ message: 'must be even', path: [{ key: 'n' }, 0, Symbol.for('s')] }] },
    },
  };

  it('awaits an async validate and formats PathSegment, number and symbol keys', async () => {
    assert.deepEqual(await validate(Even, 4), { ok: true, value: 4 });
    assert.deepEqual(await validate(Even, 3), { ok: false, issues: [{ path: 'n.0.Symbol(s)', message: 'must be even' }] });
  });

  it('works as a route body schema', async () => {
    const app = new App().post('/even', (ctx) => ctx.body * 10, { body: Even });
    assert.equal((await app.request('/even', { method: 'POST', body: '8' })).text(), '80');
    assert.equal((await app.request('/even', { method: 'POST', body: '7' })).status, 400);
  });
});

describe('lazySchema', () => {
  it('builds the schema on the first validated request, once, and validates like the schema itself', async () => {
    let builds = 0;
    const app = new App().get('/n', (ctx) => ({ n: ctx.query.n }), {
      query: lazySchema(() => {
        builds += 1;
        return z.object({ n: z.coerce.number().int() });
      }),
    });
    assert.equal(builds, 0, 'not built at registration');
    assert.deepEqual((await app.request('/n?n=3')).json(), { n: 3 });
    assert.equal(builds, 1);
    const bad = await app.request('/n?n=x');
    assert.equal(bad.status, 400);
    assert.equal(builds, 1, 'built once');
  });

  it('a build that throws fails that request with a 500 and is retried by the next', async () => {
    let attempts = 0;
    const app = new App().get('/q', () => 'ok', {
      query: lazySchema(() => {
        attempts += 1;
        if (attempts === 1) throw new Error('not yet');
        return z.object({});
      }),
    });
    assert.equal((await app.request('/q')).status, 500);
    assert.equal((await app.request('/q')).status, 200);
  });
});
