import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '../../../src/http/http-error';
import { Request } from '../../../src/http/request';
import type { RawMessage } from '../../../src/protocol/types';

function raw(headers: Record<string, string | readonly string[]>, body = '', path = '/a/b'): RawMessage {
  return {
    sender: 'srv-1',
    connId: 7,
    path,
    headers: { METHOD: 'GET', VERSION: 'HTTP/1.1', URI: path, PATTERN: '/', URL_SCHEME: 'http', REMOTE_ADDR: '10.0.0.1', PATH: path, ...headers },
    body: Buffer.from(body, 'utf8'),
    protocol: 'tnetstring',
  };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected a throw');
}

describe('Request metadata', () => {
  it('exposes Mongrel2 keys through getters and meta, not as client headers', () => {
    const req = new Request(raw({ METHOD: 'PATCH', QUERY: 'x=1', 'user-agent': 'curl' }));
    assert.equal(req.method, 'PATCH');
    assert.equal(req.path, '/a/b');
    assert.equal(req.version, 'HTTP/1.1');
    assert.equal(req.uri, '/a/b');
    assert.equal(req.scheme, 'http');
    assert.equal(req.pattern, '/');
    assert.equal(req.remoteAddress, '10.0.0.1');
    assert.equal(req.connId, 7);
    assert.equal(req.sender, 'srv-1');
    assert.equal(req.queryString, 'x=1');
    assert.equal(req.meta['METHOD'], 'PATCH');
    assert.deepEqual({ ...req.headers }, { 'user-agent': 'curl' });
    assert.equal(req.header('METHOD'), undefined);
  });

  it('finds no header in inherited names (header() reads the message itself)', () => {
    const req = new Request(raw({ 'x-a': 'b' }));
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      assert.equal(req.header(name), undefined, name);
      assert.deepEqual(req.headerAll(name), [], name);
    }
    assert.equal(req.header('X-A'), 'b');
  });

  it('keeps the path raw and decodes pathname with decodeURI', () => {
    const req = new Request(raw({}, '', '/caf%C3%A9/a%2Fb'));
    assert.equal(req.path, '/caf%C3%A9/a%2Fb');
    assert.equal(req.pathname, '/café/a%2Fb');
    assert.equal(new Request(raw({}, '', '/bad%E0%A4%A')).pathname, '/bad%E0%A4%A');
  });

  it('reads HTTP/1.0 from VERSION', () => {
    assert.equal(new Request(raw({ VERSION: 'HTTP/1.0' })).version, 'HTTP/1.0');
  });

  it('passes an upload through', () => {
    const req = new Request(raw({}), { upload: { file: '/tmp/upload.x' } });
    assert.deepEqual(req.upload, { file: '/tmp/upload.x' });
    assert.equal(new Request(raw({})).upload, undefined);
  });
});

describe('Request headers', () => {
  it('looks headers up case-insensitively', () => {
    const req = new Request(raw({ 'content-type': 'text/plain' }));
    assert.equal(req.header('Content-Type'), 'text/plain');
    assert.equal(req.header('CONTENT-TYPE'), 'text/plain');
    assert.deepEqual(req.headerAll('Content-Type'), ['text/plain']);
    assert.equal(req.header('x-missing'), undefined);
    assert.deepEqual(req.headerAll('x-missing'), []);
  });

  it('keeps repeated headers as arrays in arrival order', () => {
    const req = new Request(raw({ 'x-dup': ['a', 'b', 'c'] }));
    assert.equal(req.header('X-Dup'), 'a');
    assert.deepEqual(req.headerAll('x-dup'), ['a', 'b', 'c']);
    assert.deepEqual(req.headers['x-dup'], ['a', 'b', 'c']);
  });

  it('returns frozen header objects', () => {
    const req = new Request(raw({ 'x-dup': ['a', 'b'] }));
    assert.equal(Object.isFrozen(req.headers), true);
    assert.equal(Object.isFrozen(req.headers['x-dup']), true);
  });

  it('reports the media type of content-type without parameters', () => {
    assert.equal(new Request(raw({ 'content-type': 'Application/JSON; charset=utf-8' })).contentType, 'application/json');
    assert.equal(new Request(raw({})).contentType, undefined);
  });
});

describe('Request query', () => {
  it('parses repeated keys into arrays and decodes escapes', () => {
    const req = new Request(raw({ QUERY: 'a=1&a=2&b=x%20y&c=&d' }));
    assert.deepEqual({ ...req.query }, { a: ['1', '2'], b: 'x y', c: '', d: '' });
  });

  it('is empty without QUERY', () => {
    assert.deepEqual({ ...new Request(raw({})).query }, {});
  });

  it('treats __proto__ as a plain key', () => {
    const req = new Request(raw({ QUERY: '__proto__=x' }));
    assert.equal(req.query['__proto__'], 'x');
    assert.equal(Object.getPrototypeOf(req.query), null);
  });

  it('caches the parsed object', () => {
    const req = new Request(raw({ QUERY: 'a=1' }));
    assert.equal(req.query, req.query);
  });

  it('hands out a fresh URLSearchParams each time', () => {
    const req = new Request(raw({ QUERY: 'a=1&a=2' }));
    const params = req.searchParams;
    params.set('a', 'changed');
    assert.deepEqual(req.searchParams.getAll('a'), ['1', '2']);
  });
});

describe('Request cookies', () => {
  it('parses pairs, strips quotes, decodes escapes, first occurrence wins', () => {
    const req = new Request(raw({ cookie: 'sid=abc; theme="dark"; name=J%C3%B6rg; sid=later; junk; bad=%E0%A4' }));
    assert.deepEqual({ ...req.cookies }, { sid: 'abc', theme: 'dark', name: 'Jörg', bad: '%E0%A4' });
  });

  it('merges several cookie headers', () => {
    const req = new Request(raw({ cookie: ['a=1', 'b=2; a=3'] }));
    assert.deepEqual({ ...req.cookies }, { a: '1', b: '2' });
  });

  it('is empty without a cookie header', () => {
    assert.deepEqual({ ...new Request(raw({})).cookies }, {});
  });
});

describe('Request body', () => {
  it('decodes text as UTF-8', () => {
    assert.equal(new Request(raw({}, 'héllo')).text(), 'héllo');
    assert.deepEqual(new Request(raw({}, 'abc')).body, Buffer.from('abc'));
  });

  it('parses JSON once and returns the same value', () => {
    const req = new Request(raw({}, '{"a":[1,2]}'));
    assert.deepEqual(req.json(), { a: [1, 2] });
    assert.equal(req.json(), req.json());
  });

  it('throws HttpError 400 on invalid JSON', () => {
    const err = thrown(() => new Request(raw({}, '{"a":')).json());
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, 400);
    assert.equal(err.expose, true);
    assert.match(err.message, /^invalid JSON body: /);
  });

  it('throws HttpError 400 on an empty JSON body', () => {
    const err = thrown(() => new Request(raw({})).json());
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, 400);
    assert.equal(err.message, 'request body is empty; expected JSON');
  });

  it('parses a urlencoded form with repeated keys', () => {
    const req = new Request(raw({ 'content-type': 'application/x-www-form-urlencoded' }, 'a=1&b=x+y&a=2'));
    assert.deepEqual({ ...req.form() }, { a: ['1', '2'], b: 'x y' });
  });

  it('parses a form without content-type', () => {
    assert.deepEqual({ ...new Request(raw({}, 'k=v')).form() }, { k: 'v' });
  });

  it('refuses form() for another content type with HttpError 415', () => {
    const err = thrown(() => new Request(raw({ 'content-type': 'text/csv' }, 'a,b')).form());
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, 415);
    assert.equal(err.message, 'expected an application/x-www-form-urlencoded body, got text/csv');
  });

  it('refuses form() for a multipart body with 415 pointing to multipart() (parsed asynchronously)', () => {
    const err = thrown(() => new Request(raw({ 'content-type': 'multipart/form-data; boundary=x' }, '--x')).form());
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, 415);
    assert.equal(err.message, 'a multipart/form-data body is read with await req.multipart() or req.parts(), not form()');
  });
});

describe('Request.wantsClose', () => {
  const cases: Array<[string, Record<string, string | readonly string[]>, boolean]> = [
    ['HTTP/1.1 without connection header', {}, false],
    ['HTTP/1.1 with Connection: close', { connection: 'close' }, true],
    ['HTTP/1.1 with Connection: Keep-Alive, Close', { connection: 'Keep-Alive, Close' }, true],
    ['HTTP/1.0 without connection header', { VERSION: 'HTTP/1.0' }, true],
    ['HTTP/1.0 with Connection: keep-alive', { VERSION: 'HTTP/1.0', connection: 'Keep-Alive' }, false],
    ['HTTP/1.0 with keep-alive and close', { VERSION: 'HTTP/1.0', connection: ['keep-alive', 'close'] }, true],
  ];
  for (const [name, headers, expected] of cases) {
    it(`is ${expected} for ${name}`, () => {
      assert.equal(new Request(raw(headers)).wantsClose, expected);
    });
  }
});
