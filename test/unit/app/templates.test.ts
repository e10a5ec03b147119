/**
 * Templates (issue 21, item 8): `ctx.render()` with liquidjs escapes every interpolated value by default (`| raw`
 * opts out), caches compiled templates, plugs in another engine through `TemplateEngine`, and renders the optional
 * 404/500 pages.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { App } from '../../../src/app/app';
import { Handler } from '../../../src/app/handler';
import { LiquidTemplates } from '../../../src/app/templates/liquid';
import type { TemplateEngine } from '../../../src/app/templates/engine';
import { ConfigError } from '../../../src/errors';
import { REPO_ROOT } from '../../helpers/processes';

const VIEWS = path.join(REPO_ROOT, 'test/fixtures/views');

describe('ctx.render', () => {
  it('renders text/html with every value HTML-escaped', async () => {
    const app = new App({ templates: new LiquidTemplates({ root: VIEWS }) });
    app.get('/hi', (ctx) => ctx.render('hello', { name: '<script>alert("x")</script>', items: ['a&b', "'q'"] }));
    const res = await app.request('/hi');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.ok(res.text().includes('<h1>Hello &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</h1>'), res.text());
    assert.ok(res.text().includes('<li>a&amp;b</li><li>&#39;q&#39;</li>'), res.text());
    assert.ok(!res.text().includes('<script>'));
  });

  it('a Handler class renders through this.render()', async () => {
    class Page extends Handler {
      get(): Promise<unknown> {
        return this.render('hello', { name: 'class' });
      }
    }
    const app = new App({ templates: new LiquidTemplates({ root: VIEWS }) });
    app.route('/p', Page);
    assert.match((await app.request('/p')).text(), /<h1>Hello class<\/h1>/);
  });

  it('| raw opts out of escaping (trusted HTML only)', async () => {
    const app = new App({ templates: new LiquidTemplates({ root: VIEWS }) });
    app.get('/t', (ctx) => ctx.render('trusted', { html: '<b>bold</b>' }));
    assert.equal((await app.request('/t')).text().trim(), '<div><b>bold</b></div>');
  });

  it('caches compiled templates (a changed file is not re-read), unless cache is off', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'm2p-views-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await cp(VIEWS, dir, { recursive: true });
    const cached = new LiquidTemplates({ root: dir });
    const fresh = new LiquidTemplates({ root: dir, cache: false });
    assert.match(await cached.render('hello', { name: 'a' }), /Hello a/);
    assert.match(await fresh.render('hello', { name: 'a' }), /Hello a/);
    await writeFile(path.join(dir, 'hello.liquid'), 'changed {{ name }}');
    assert.match(await cached.render('hello', { name: 'b' }), /Hello b/);
    assert.match(await fresh.render('hello', { name: 'b' }), /changed b/);
  });

  it('a name outside the root is refused', async () => {
    const app = new App({ templates: new LiquidTemplates({ root: VIEWS }) });
    app.get('/x', (ctx) => ctx.render('../../../package.json'));
    assert.equal((await app.request('/x')).status, 500);
  });

  it('another engine plugs in through TemplateEngine', async () => {
    const upper: TemplateEngine = { render: async (name, data) => `${name}:${String(data['v']).toUpperCase()}` };
    const app = new App({ templates: upper });
    app.get('/u', (ctx) => ctx.render('page', { v: 'abc' }, 201));
    const res = await app.request('/u');
    assert.equal(res.status, 201);
    assert.equal(res.text(), 'page:ABC');
  });

  it('templated 404 and 500 pages; JSON error details keep their JSON', async () => {
    const app = new App({ templates: new LiquidTemplates({ root: VIEWS }), errorPages: { 404: 'not-found', 500: 'server-error' } });
    app.get('/boom', () => {
      throw new Error('secret detail');
    });
    const notFound = await app.request('/nope?<x>');
    assert.equal(notFound.status, 404);
    assert.equal(notFound.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(notFound.text().trim(), '<title>404</title><p>No page at /nope</p>');
    const boom = await app.request('/boom');
    assert.equal(boom.status, 500);
    assert.equal(boom.text().trim(), '<title>500</title><p>Internal Server Error</p>', 'the error message is not shown');
  });

  it('a missing error page template falls back to the plain reply', async () => {
    const app = new App({ templates: new LiquidTemplates({ root: VIEWS }), errorPages: { 404: 'no-such-template' } });
    const res = await app.request('/nope');
    assert.equal(res.status, 404);
    assert.equal(res.text(), 'Not Found');
  });

  it('errorPages without templates, or ctx.render without templates, is a ConfigError', async () => {
    assert.throws(() => new App({ errorPages: { 404: 'x' } }), ConfigError);
    const app = new App();
    app.get('/', (ctx) => ctx.render('x'));
    assert.equal((await app.request('/')).status, 500);
  });
});
