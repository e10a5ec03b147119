import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, M2PoolError } from '../../../src/errors';
import { encodeChunk, LAST_CHUNK, serializeResponseHead } from '../../../src/http/serialize';
import { statusText } from '../../../src/http/status-text';

function isInvalid(err: unknown): boolean {
  return err instanceof M2PoolError && err.code === ErrorCode.RESPONSE_INVALID;
}

describe('serializeResponseHead', () => {
  it('renders the status line, headers in order, and the empty line', () => {
    const head = serializeResponseHead({
      version: 'HTTP/1.1',
      status: 200,
      headers: [
        ['Content-Type', 'text/plain'],
        ['Content-Length', '12'],
      ],
    });
    assert.equal(head.toString('latin1'), 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\n');
  });

  it('uses a custom reason and writes values as latin1', () => {
    const head = serializeResponseHead({ version: 'HTTP/1.0', status: 299, reason: 'Fine', headers: [['X-Name', 'Jörg\tA']] });
    assert.deepEqual(head, Buffer.from('HTTP/1.0 299 Fine\r\nX-Name: J\xf6rg\tA\r\n\r\n', 'latin1'));
    assert.equal(serializeResponseHead({ version: 'HTTP/1.1', status: 299, headers: [] }).toString(), 'HTTP/1.1 299 Unknown\r\n\r\n');
  });

  it('rejects CR, LF, NUL, other controls and non-latin1 chars in values and in the reason', () => {
    for (const value of ['a\rb', 'a\nb', 'a\0b', 'a\x01b', 'a\x7fb', '日本']) {
      assert.throws(() => serializeResponseHead({ version: 'HTTP/1.1', status: 200, headers: [['X', value]] }), isInvalid);
      assert.throws(() => serializeResponseHead({ version: 'HTTP/1.1', status: 200, reason: value, headers: [] }), isInvalid);
    }
  });

  it('rejects bad header names, versions and status codes', () => {
    assert.throws(() => serializeResponseHead({ version: 'HTTP/1.1', status: 200, headers: [['Bad Name', 'v']] }), isInvalid);
    assert.throws(() => serializeResponseHead({ version: 'HTTP/2', status: 200, headers: [] }), isInvalid);
    assert.throws(() => serializeResponseHead({ version: 'HTTP/1.1', status: 42, headers: [] }), isInvalid);
  });
});

describe('chunked coding', () => {
  it('frames a chunk with its hex size', () => {
    assert.equal(encodeChunk(Buffer.alloc(26, 'a')).toString('latin1'), `1a\r\n${'a'.repeat(26)}\r\n`);
    assert.equal(LAST_CHUNK.toString('latin1'), '0\r\n\r\n');
  });

  it('gives nothing for an empty chunk, which would otherwise end the body', () => {
    assert.deepEqual(encodeChunk(Buffer.alloc(0)), Buffer.alloc(0));
  });
});

describe('statusText', () => {
  it('knows the standard phrases and falls back to Unknown', () => {
    assert.equal(statusText(404), 'Not Found');
    assert.equal(statusText(504), 'Gateway Timeout');
    assert.equal(statusText(799), 'Unknown');
  });
});
