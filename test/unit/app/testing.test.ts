import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRawMessage, CollectingSink, RecordingOutlet } from '../../../src/app/testing/testing';
import { Response } from '../../../src/http/response';
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

describe('RecordingOutlet (the test front)', () => {
  const target = { method: 'GET', version: 'HTTP/1.1' as const, wantsClose: false };

  it('keeps status, repeated headers and the body as the app made them, and the bytes Mongrel2 would get', async () => {
    const outlet = new RecordingOutlet();
    const wire = new CollectingSink();
    for (const sink of [outlet, wire]) {
      await new Response(sink, target).status(201).header('Date', 'x').cookie('a', '1').cookie('b', '2').text('ok');
    }
    assert.deepEqual([outlet.status, outlet.reason, outlet.headers, outlet.body(), outlet.complete], [
      201,
      'Created',
      { date: 'x', 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain; charset=utf-8', 'content-length': '2' },
      Buffer.from('ok'),
      true,
    ]);
    assert.deepEqual(outlet.sink.bytes(), wire.bytes());
    assert.equal(outlet.bytes, wire.bytes().length);
  });

  it('gives a chunked body without its coding, complete once the stream ended', async () => {
    const outlet = new RecordingOutlet();
    const stream = await new Response(outlet, target).stream();
    await stream.write('hello ');
    assert.equal(outlet.complete, false);
    await stream.end('world\n');
    assert.deepEqual([outlet.headers['transfer-encoding'], outlet.body(), outlet.complete], ['chunked', Buffer.from('hello world\n'), true]);
    assert.match(outlet.sink.bytes().toString('latin1'), /\r\n\r\n6\r\nhello \r\n6\r\nworld\n\r\n0\r\n\r\n$/);
  });

  it('counts a body delimited by closing the connection as complete only once closed', async () => {
    const outlet = new RecordingOutlet();
    const stream = await new Response(outlet, { ...target, version: 'HTTP/1.0' }).stream();
    await stream.write('abc');
    assert.deepEqual([outlet.headers['connection'], outlet.complete], ['close', false]);
    await stream.end();
    assert.deepEqual([outlet.closed, outlet.complete, outlet.body()], [true, true, Buffer.from('abc')]);
  });

  it('reports status 0 and an incomplete response when nothing was sent', () => {
    const outlet = new RecordingOutlet();
    assert.deepEqual([outlet.status, outlet.headers, outlet.body().length, outlet.complete], [0, {}, 0, false]);
  });
});
