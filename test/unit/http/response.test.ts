import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isInvalid, setup } from './response-setup';

describe('Response simple bodies', () => {
  it('writes head and body in one write with Content-Length', async () => {
    const { res, sink } = setup();
    await res.text('Hello World\n');
    assert.deepEqual(sink.events, [
      { type: 'write', data: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\n\r\nHello World\n' },
    ]);
    assert.equal(res.sent, true);
    assert.equal(res.finished, true);
    assert.equal(res.headersSent, true);
    assert.equal(res.statusCode, 200);
    assert.equal(res.bytesWritten, sink.raw[0]?.length);
  });

  it('sends JSON with a status and counts UTF-8 bytes', async () => {
    const { res, sink } = setup();
    await res.json({ name: 'é' }, 201);
    assert.deepEqual(sink.events, [
      {
        type: 'write',
        data: Buffer.from('HTTP/1.1 201 Created\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 13\r\n\r\n{"name":"é"}').toString('latin1'),
      },
    ]);
  });

  it('keeps a Content-Type the handler set', async () => {
    const { res, sink } = setup();
    await res.header('content-type', 'application/problem+json').json({});
    assert.deepEqual(sink.events, [
      { type: 'write', data: 'HTTP/1.1 200 OK\r\ncontent-type: application/problem+json\r\nContent-Length: 2\r\n\r\n{}' },
    ]);
  });

  it('sends bytes as application/octet-stream and html as text/html', async () => {
    const a = setup();
    await a.res.send(Buffer.from([0, 255]));
    assert.deepEqual(a.sink.events, [
      { type: 'write', data: 'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 2\r\n\r\n\x00\xff' },
    ]);
    const b = setup();
    await b.res.html('<p>');
    assert.deepEqual(b.sink.events, [
      { type: 'write', data: 'HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 3\r\n\r\n<p>' },
    ]);
  });

  it('replaces a Content-Length the handler set with the real one', async () => {
    const { res, sink } = setup();
    await res.header('Content-Length', '999').header('Transfer-Encoding', 'gzip').text('ab');
    assert.deepEqual(sink.events, [
      { type: 'write', data: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\nab' },
    ]);
  });

  it('sends an empty 204 without Content-Length', async () => {
    const { res, sink } = setup();
    await res.empty(204);
    assert.deepEqual(sink.events, [{ type: 'write', data: 'HTTP/1.1 204 No Content\r\n\r\n' }]);
  });

  it('drops a body given with 304', async () => {
    const { res, sink } = setup();
    await res.text('ignored', 304);
    assert.deepEqual(sink.events, [{ type: 'write', data: 'HTTP/1.1 304 Not Modified\r\n\r\n' }]);
  });

  it('sends an empty 200 with Content-Length: 0', async () => {
    const { res, sink } = setup();
    await res.empty();
    assert.deepEqual(sink.events, [{ type: 'write', data: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' }]);
  });

  it('redirects with Location and an empty body', async () => {
    const { res, sink } = setup();
    await res.redirect('/login?next=%2F');
    assert.deepEqual(sink.events, [
      { type: 'write', data: 'HTTP/1.1 302 Found\r\nLocation: /login?next=%2F\r\nContent-Length: 0\r\n\r\n' },
    ]);
  });

  it('rejects a redirect status outside 3xx', async () => {
    const { res, sink } = setup();
    await assert.rejects(res.redirect('/x', 200), isInvalid);
    assert.deepEqual(sink.events, []);
  });

  it('refuses a value that JSON cannot represent', async () => {
    const { res, sink } = setup();
    await assert.rejects(res.json(undefined), { name: 'TypeError', message: 'response value is not JSON-serialisable' });
    assert.deepEqual(sink.events, []);
    assert.equal(res.headersSent, false);
  });
});

describe('Response headers', () => {
  it('writes repeated headers as separate lines in insertion order', async () => {
    const { res, sink } = setup();
    res.header('X-A', '1').appendHeader('x-b', ['2', '3']).appendHeader('X-A', 4);
    await res.empty();
    assert.deepEqual(sink.events, [
      { type: 'write', data: 'HTTP/1.1 200 OK\r\nX-A: 1\r\nX-A: 4\r\nx-b: 2\r\nx-b: 3\r\nContent-Length: 0\r\n\r\n' },
    ]);
  });

  it('reads, replaces and removes headers case-insensitively', () => {
    const { res } = setup();
    res.setHeader('X-Thing', 'a').appendHeader('x-thing', 'b');
    assert.equal(res.getHeader('X-THING'), 'a');
    assert.deepEqual(res.getHeaderAll('x-thing'), ['a', 'b']);
    res.setHeader('x-thing', 'c');
    assert.deepEqual(res.getHeaderAll('X-Thing'), ['c']);
    res.removeHeader('X-THING');
    assert.equal(res.getHeader('x-thing'), undefined);
  });

  for (const [label, value] of [
    ['CR LF', 'a\r\nSet-Cookie: evil=1'],
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['NUL', 'a\0b'],
  ] as const) {
    it(`throws RESPONSE_INVALID for ${label} in a value and sends nothing`, async () => {
      const { res, sink } = setup();
      assert.throws(() => res.header('X-Bad', value), isInvalid);
      assert.throws(() => res.appendHeader('X-Bad', ['ok', value]), isInvalid);
      await res.text('fine');
      assert.equal(res.getHeader('x-bad'), undefined);
      assert.deepEqual(sink.events, [
        { type: 'write', data: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\n\r\nfine' },
      ]);
    });
  }

  it('writes latin1 header values byte for byte and refuses chars above U+00FF', async () => {
    const { res, sink } = setup();
    assert.throws(() => res.header('X-City', '東京'), isInvalid);
    await res.header('X-City', 'Zürich').empty();
    assert.deepEqual(sink.events, [{ type: 'write', data: 'HTTP/1.1 200 OK\r\nX-City: Z\xfcrich\r\nContent-Length: 0\r\n\r\n' }]);
  });

  it('throws RESPONSE_INVALID for a header name that is not a token', () => {
    const { res } = setup();
    for (const name of ['', 'X Bad', 'X:Bad', 'X\r\nY', 'Ü']) assert.throws(() => res.header(name, 'v'), isInvalid);
  });

  it('throws RESPONSE_INVALID for a status outside 200..599', () => {
    const { res } = setup();
    for (const code of [99, 100, 199, 600, 200.5, Number.NaN]) assert.throws(() => res.status(code), isInvalid);
    assert.equal(res.status(599).statusCode, 599);
  });

  it('refuses changes and a second send once headers are out', async () => {
    const { res, sink } = setup();
    await res.text('one');
    assert.throws(() => res.header('X-Late', '1'), isInvalid);
    assert.throws(() => res.status(500), isInvalid);
    await assert.rejects(res.text('two'), isInvalid);
    assert.equal(sink.events.length, 1);
  });
});

describe('Response cookies', () => {
  it('appends one Set-Cookie line per cookie', async () => {
    const { res, sink } = setup();
    res.cookie('sid', 'a b;c', { path: '/', httpOnly: true, sameSite: 'Lax' }).clearCookie('old', { path: '/app' });
    await res.empty();
    assert.deepEqual(sink.events, [
      {
        type: 'write',
        data:
          'HTTP/1.1 200 OK\r\n' +
          'Set-Cookie: sid=a%20b%3Bc; Path=/; HttpOnly; SameSite=Lax\r\n' +
          'Set-Cookie: old=; Max-Age=0; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT\r\n' +
          'Content-Length: 0\r\n\r\n',
      },
    ]);
  });
});
