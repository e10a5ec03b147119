import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, M2PoolError } from '../../../src/errors';
import { LAST_CHUNK, encodeChunk, serializeResponse, serializeResponseHead } from '../../../src/protocol/http-response';
import type { HeaderPair, ResponseHead } from '../../../src/protocol/http-response';
import { STATUS_TEXT, statusText } from '../../../src/protocol/status-text';

const head = (status: number, headers: HeaderPair[] = [], extra: Partial<ResponseHead> = {}): ResponseHead => ({
  version: 'HTTP/1.1',
  status,
  headers,
  ...extra,
});
const str = (b: Buffer): string => b.toString('latin1');

function throwsInvalid(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof M2PoolError, String(err));
    assert.equal(err.code, ErrorCode.RESPONSE_INVALID);
    assert.match(err.message, message);
    return true;
  });
}

describe('serializeResponseHead', () => {
  test('writes the status line, headers in order and the empty line', () => {
    const h = head(200, [['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']]);
    assert.equal(str(serializeResponseHead(h)), 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n');
    assert.equal(str(serializeResponseHead({ version: 'HTTP/1.0', status: 404, headers: [] })), 'HTTP/1.0 404 Not Found\r\n\r\n');
  });

  test('defaults the reason phrase from the status table and accepts a custom or empty one', () => {
    assert.equal(str(serializeResponseHead(head(101))), 'HTTP/1.1 101 Switching Protocols\r\n\r\n');
    assert.equal(str(serializeResponseHead(head(413))), 'HTTP/1.1 413 Content Too Large\r\n\r\n');
    assert.equal(str(serializeResponseHead(head(599))), 'HTTP/1.1 599 \r\n\r\n');
    assert.equal(str(serializeResponseHead(head(200, [], { reason: 'Fine' }))), 'HTTP/1.1 200 Fine\r\n\r\n');
    assert.equal(str(serializeResponseHead(head(200, [], { reason: '' }))), 'HTTP/1.1 200 \r\n\r\n');
  });

  test('sends header values as latin1 and allows HTAB and obs-text', () => {
    const out = serializeResponseHead(head(200, [['X-A', 'caf\u00e9\tok']]));
    assert.deepEqual(out, Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nX-A: caf'), Buffer.from([0xe9, 0x09]), Buffer.from('ok\r\n\r\n')]));
  });

  test('rejects header names that are not RFC 9110 tokens', () => {
    for (const name of ['', 'Bad Name', 'a:b', 'X-\u00e9', 'x\r', 'x\n', '(x)']) {
      throwsInvalid(() => serializeResponseHead(head(200, [[name, 'v']])), /not an RFC 9110 token/);
    }
  });

  test('rejects CR, LF, NUL and other control characters in header values (no header injection)', () => {
    for (const value of ['a\r\nSet-Cookie: x=1', 'a\nb', 'a\rb', 'a\0b', 'a\x01b', 'a\x7fb', 'snow\u2603']) {
      throwsInvalid(() => serializeResponseHead(head(200, [['X-V', value]])), /forbidden character/);
    }
  });

  test('rejects a bad status, version or reason', () => {
    for (const status of [99, 1000, 200.5, Number.NaN]) throwsInvalid(() => serializeResponseHead(head(status)), /bad status code/);
    throwsInvalid(() => serializeResponseHead(head(200, [], { reason: 'OK\r\nX: y' })), /reason phrase/);
    const badVersion = { version: 'HTTP/2', status: 200, headers: [] } as unknown as ResponseHead;
    throwsInvalid(() => serializeResponseHead(badVersion), /bad HTTP version/);
  });
});

describe('serializeResponse', () => {
  const body = Buffer.from('Hello World\n');

  test('adds Content-Length after the given headers (vector 02 layout)', () => {
    const out = serializeResponse(head(200, [['Content-Type', 'text/plain']]), body);
    assert.equal(str(out), 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nHello World\n');
    assert.equal(str(serializeResponse(head(200), Buffer.alloc(0))), 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  });

  test('keeps a matching Content-Length and rejects a wrong or duplicated one', () => {
    const out = serializeResponse(head(200, [['content-length', '12']]), body);
    assert.equal(str(out), 'HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\nHello World\n');
    throwsInvalid(() => serializeResponse(head(200, [['Content-Length', '11']]), body), /does not match the body length 12/);
    throwsInvalid(() => serializeResponse(head(200, [['Content-Length', '+12']]), body), /does not match/);
    const twice: HeaderPair[] = [['Content-Length', '12'], ['Content-Length', '12']];
    throwsInvalid(() => serializeResponse(head(200, twice), body), /more than one Content-Length/);
  });

  test('omits the body for HEAD but still declares its length', () => {
    const out = serializeResponse(head(200, [['Content-Type', 'text/plain']]), body, { omitBody: true });
    assert.equal(str(out), 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\n');
  });

  test('never adds Content-Length to 1xx, 204 and 304, which must have no body', () => {
    assert.equal(str(serializeResponse(head(204), Buffer.alloc(0))), 'HTTP/1.1 204 No Content\r\n\r\n');
    assert.equal(str(serializeResponse(head(304, [['ETag', '"x"']]), Buffer.alloc(0))), 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n');
    assert.equal(str(serializeResponse(head(304, [['Content-Length', '5']]), Buffer.alloc(0))), 'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n');
    throwsInvalid(() => serializeResponse(head(204), body), /must not have a body/);
    throwsInvalid(() => serializeResponse(head(100), body), /must not have a body/);
    throwsInvalid(() => serializeResponse(head(204, [['Content-Length', '0']]), Buffer.alloc(0)), /must not send Content-Length/);
  });

  test('refuses Transfer-Encoding (that is what encodeChunk is for)', () => {
    throwsInvalid(() => serializeResponse(head(200, [['Transfer-Encoding', 'chunked']]), body), /encodeChunk/);
  });
});

describe('chunked encoding', () => {
  test('frames a chunk as hex length CRLF data CRLF', () => {
    assert.equal(str(encodeChunk('hello ')), '6\r\nhello \r\n');
    assert.equal(str(encodeChunk(Buffer.alloc(255, 0x61))), `ff\r\n${'a'.repeat(255)}\r\n`);
    assert.equal(str(encodeChunk('é')), '2\r\n\u00c3\u00a9\r\n');
  });

  test('empty data yields an empty Buffer, never the 0-length terminator', () => {
    assert.equal(encodeChunk('').length, 0);
    assert.equal(encodeChunk(Buffer.alloc(0)).length, 0);
    assert.equal(str(LAST_CHUNK), '0\r\n\r\n');
  });

  test('reproduces the docs/mongrel2.md §4.3 streaming example', () => {
    const headBytes = serializeResponseHead(head(200, [['Content-Type', 'text/plain'], ['Transfer-Encoding', 'chunked']]));
    const parts = [headBytes, encodeChunk('hello '), encodeChunk('world\n'), LAST_CHUNK].map(str);
    assert.deepEqual(parts, [
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n',
      '6\r\nhello \r\n',
      '6\r\nworld\n\r\n',
      '0\r\n\r\n',
    ]);
  });
});

describe('status text table', () => {
  test('covers the common IANA codes with non-empty phrases', () => {
    const codes = [100, 101, 200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 406, 408, 409,
      410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505];
    for (const code of codes) assert.ok(statusText(code).length > 0, String(code));
    assert.equal(statusText(418), "I'm a teapot");
    assert.equal(statusText(422), 'Unprocessable Content');
    assert.equal(statusText(299), '');
    assert.ok(Object.isFrozen(STATUS_TEXT));
    for (const [code, phrase] of Object.entries(STATUS_TEXT)) {
      assert.match(code, /^[1-5]\d\d$/);
      assert.match(phrase, /^[\x20-\x7e]+$/);
    }
  });
});
