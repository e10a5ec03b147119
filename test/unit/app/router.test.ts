import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowList, compilePattern, METHOD_ALL, OrderedRouter } from '../../../src/app/router';
import { ConfigError } from '../../../src/errors';

describe('compilePattern', () => {
  const cases: Array<[string, string]> = [
    ['/', '^/$'],
    ['/users', '^/users$'],
    ['/users/:id', '^/users/(?<id>[^/]+)$'],
    ['/files/:name.json', '^/files/(?<name>[^/]+)\\.json$'],
    ['/echo/*', '^/echo(?:/(?<m2poolWildcard>.*))?$'],
    ['/files*', '^/files(?<m2poolWildcard>.*)$'],
    ['/*', '^(?:/(?<m2poolWildcard>.*))?$'],
    ['/a+b/(c)', '^/a\\+b/\\(c\\)$'],
    ['/a:b', '^/a:b$'],
  ];
  for (const [pattern, source] of cases) {
    it(`compiles ${pattern} to ${source}`, () => {
      assert.equal(compilePattern(pattern).source, new RegExp(source).source);
    });
  }

  it('refuses patterns that do not start with /, a * that is not last, and repeated names', () => {
    assert.throws(() => compilePattern('users'), ConfigError);
    assert.throws(() => compilePattern('/a/*/b'), ConfigError);
    assert.throws(() => compilePattern('/:id/:id'), { name: 'ConfigError', message: 'invalid configuration:\n  - duplicate parameter :id in route /:id/:id' });
  });
});

describe('OrderedRouter.match', () => {
  it('returns params from :name segments, percent-decoded', () => {
    const router = new OrderedRouter<string>();
    router.add('GET', '/users/:id/posts/:post', 'h');
    assert.deepEqual(router.match('GET', '/users/j%C3%B6rg/posts/1%2F2'), { kind: 'found', handler: 'h', params: { id: 'jörg', post: '1/2' } });
  });

  it('keeps a malformed escape raw', () => {
    const router = new OrderedRouter<string>();
    router.add('GET', '/u/:id', 'h');
    assert.deepEqual(router.match('GET', '/u/%E0%A4'), { kind: 'found', handler: 'h', params: { id: '%E0%A4' } });
  });

  it('lets the first matching route win', () => {
    const router = new OrderedRouter<string>();
    router.add('GET', '/users/me', 'me');
    router.add('GET', '/users/:id', 'byId');
    router.add('GET', '/users/me', 'never');
    assert.deepEqual(router.match('GET', '/users/me'), { kind: 'found', handler: 'me', params: {} });
    assert.deepEqual(router.match('GET', '/users/7'), { kind: 'found', handler: 'byId', params: { id: '7' } });
  });

  it('skips routes of other methods and finds a later one', () => {
    const router = new OrderedRouter<string>();
    router.add('POST', '/a', 'post');
    router.add('GET', '/a', 'get');
    assert.deepEqual(router.match('GET', '/a'), { kind: 'found', handler: 'get', params: {} });
  });

  it('uses RegExp named groups as params, Brubeck style', () => {
    const router = new OrderedRouter<string>();
    router.add('GET', /^\/brubeck\/(?<name>\w+)$/g, 'demo');
    assert.deepEqual(router.match('GET', '/brubeck/world'), { kind: 'found', handler: 'demo', params: { name: 'world' } });
    // The g flag is dropped: a second match does not start at a stale lastIndex.
    assert.deepEqual(router.match('GET', '/brubeck/world'), { kind: 'found', handler: 'demo', params: { name: 'world' } });
    assert.deepEqual(router.match('GET', '/brubeck/a-b'), { kind: 'not-found' });
  });

  it('ignores optional groups that did not participate', () => {
    const router = new OrderedRouter<string>();
    router.add('GET', /^\/v(?<major>\d+)(?:\.(?<minor>\d+))?$/, 'v');
    assert.deepEqual(router.match('GET', '/v2'), { kind: 'found', handler: 'v', params: { major: '2' } });
  });

  it('puts the wildcard rest into params["*"]', () => {
    const router = new OrderedRouter<string>();
    router.add('GET', '/echo/*', 'echo');
    assert.deepEqual(router.match('GET', '/echo/a/b%20c'), { kind: 'found', handler: 'echo', params: { '*': 'a/b c' } });
    assert.deepEqual(router.match('GET', '/echo/'), { kind: 'found', handler: 'echo', params: { '*': '' } });
    assert.deepEqual(router.match('GET', '/echo'), { kind: 'found', handler: 'echo', params: {} });
    assert.deepEqual(router.match('GET', '/echoes'), { kind: 'not-found' });
  });

  it('treats a trailing slash as a different path', () => {
    const router = new OrderedRouter<string>();
    router.add('GET', '/a', 'a');
    assert.deepEqual(router.match('GET', '/a/'), { kind: 'not-found' });
  });

  it('reports method-not-allowed with every method of the path', () => {
    const router = new OrderedRouter<string>();
    router.add('POST', '/items', 'create');
    router.add('DELETE', '/items/:id', 'remove');
    router.add('GET', '/items', 'list');
    router.add('GET', '/other', 'other');
    assert.deepEqual(router.match('PUT', '/items'), {
      kind: 'method-not-allowed',
      allow: ['GET', 'HEAD', 'POST', 'OPTIONS'],
      handlers: ['create', 'list'],
    });
  });

  it('serves HEAD from GET unless a HEAD route matches anywhere', () => {
    const router = new OrderedRouter<string>();
    router.add('GET', '/a', 'get-a');
    router.add('HEAD', '/a', 'head-a');
    router.add('GET', '/b', 'get-b');
    assert.deepEqual(router.match('HEAD', '/a'), { kind: 'found', handler: 'head-a', params: {} });
    assert.deepEqual(router.match('HEAD', '/b'), { kind: 'found', handler: 'get-b', params: {} });
  });

  it('matches every method on an all-methods route', () => {
    const router = new OrderedRouter<string>();
    router.add(METHOD_ALL, '/any', 'any');
    assert.deepEqual(router.match('FOO', '/any'), { kind: 'found', handler: 'any', params: {} });
    assert.deepEqual(router.match('OPTIONS', '/any'), { kind: 'found', handler: 'any', params: {} });
  });

  it('reports not-found when no pattern matches', () => {
    assert.deepEqual(new OrderedRouter<string>().match('GET', '/'), { kind: 'not-found' });
  });
});

describe('allowList', () => {
  it('orders known methods, adds HEAD for GET and OPTIONS always, then others sorted', () => {
    assert.deepEqual(allowList(['PROPFIND', 'DELETE', 'GET', 'MKCOL']), ['GET', 'HEAD', 'DELETE', 'OPTIONS', 'MKCOL', 'PROPFIND']);
    assert.deepEqual(allowList(['POST']), ['POST', 'OPTIONS']);
  });
});
