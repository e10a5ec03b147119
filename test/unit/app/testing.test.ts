import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRawMessage, decodeChunked, parseHttpResponse } from '../../../src/app/testing/testing';
import { Request } from '../../../src/http/request';

describe('buildRawMessage', () => {
  it('builds the headers Mongrel2 would send', () => {
    const msg = buildRawMessage('/a/b%20c?x=1&y=2#frag', {
      method: 'post',
      headers: { 'X-Dup': ['1', '2'], 'x-dup': '3', Cookie: 'a=1' },
      body: 'hello',
      remoteAddress: '10.1.2.3',
    });
    assert.equal(msg.path, '/a/b%20c');
    assert.equal(msg.protocol, 'tnetstring');
    assert.equal(msg.sender, 'm2pool-test');
    assert.deepEqual(msg.body, Buffer.from('hello'));
    assert.deepEqual(msg.headers, {
      'x-dup': ['1', '2', '3'],
      cookie: 'a=1',
      host: 'localhost',
      'content-length': '5',
      'x-forwarded-for': '10.1.2.3',
      METHOD: 'POST',
      VERSION: 'HTTP/1.1',
      URI: '/a/b%20c?x=1&y=2',
      PATH: '/a/b%20c',
      PATTERN: '/',
      URL_SCHEME: 'http',
      REMOTE_ADDR: '10.1.2.3',
      QUERY: 'x=1&y=2',
      FRAGMENT: 'frag',
    });
  });

  it('takes scheme and host from an absolute URL and sends an object as JSON', () => {
    const msg = buildRawMessage('https://example.com:8443', { body: { a: 1 }, version: 'HTTP/1.0' });
    const req = new Request(msg);
    assert.equal(req.path, '/');
    assert.equal(req.scheme, 'https');
    assert.equal(req.version, 'HTTP/1.0');
    assert.equal(req.header('host'), 'example.com:8443');
    assert.equal(req.header('content-type'), 'application/json');
    assert.equal(req.queryString, '');
    assert.equal(req.meta['QUERY'], undefined);
    assert.deepEqual(req.json(), { a: 1 });
  });

  it('gives each message a new connection id', () => {
    const a = buildRawMessage('/');
    const b = buildRawMessage('/');
    assert.equal(b.connId, a.connId + 1);
  });

  it('refuses a target without a leading slash', () => {
    assert.throws(() => buildRawMessage('nope'), TypeError);
  });
});

describe('parseHttpResponse', () => {
  it('parses status, repeated headers and a Content-Length body', () => {
    const parsed = parseHttpResponse(Buffer.from('HTTP/1.1 201 Created\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 2\r\n\r\nok'));
    assert.deepEqual(parsed, {
      status: 201,
      reason: 'Created',
      headers: { 'set-cookie': ['a=1', 'b=2'], 'content-length': '2' },
      body: Buffer.from('ok'),
      complete: true,
    });
  });

  it('decodes a chunked body', () => {
    const parsed = parseHttpResponse(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n6;ext=1\r\nworld\n\r\n0\r\n\r\n'));
    assert.deepEqual(parsed.body, Buffer.from('hello world\n'));
    assert.equal(parsed.complete, true);
  });

  it('reports a short body as incomplete and refuses extra bytes', () => {
    assert.equal(parseHttpResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab')).complete, false);
    assert.throws(() => parseHttpResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab')), {
      message: '2 body bytes after Content-Length 1',
    });
  });

  it('returns status 0 for no bytes and throws on a broken head', () => {
    assert.equal(parseHttpResponse(Buffer.alloc(0)).status, 0);
    assert.throws(() => parseHttpResponse(Buffer.from('HTTP/1.1 200 OK\r\n')), { message: 'response head is incomplete' });
    assert.throws(() => parseHttpResponse(Buffer.from('HTTP/2 200 OK\r\n\r\n')), { message: 'bad status line "HTTP/2 200 OK"' });
  });

  it('treats a body without length or chunking as complete only once closed', () => {
    const bytes = Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc');
    assert.equal(parseHttpResponse(bytes, { closed: false }).complete, false);
    assert.deepEqual(parseHttpResponse(bytes, { closed: true }).body, Buffer.from('abc'));
    assert.equal(parseHttpResponse(bytes, { closed: true }).complete, true);
  });
});

describe('decodeChunked', () => {
  it('stops at an unfinished chunk', () => {
    assert.deepEqual(decodeChunked(Buffer.from('3\r\nabc\r\n5\r\nde')), { body: Buffer.from('abc'), complete: false });
  });

  it('throws on a bad size line or missing CRLF', () => {
    assert.throws(() => decodeChunked(Buffer.from('zz\r\n')), { message: 'bad chunk size "zz"' });
    assert.throws(() => decodeChunked(Buffer.from('1\r\nab\r\n')), { message: 'chunk not followed by CRLF' });
  });
});
