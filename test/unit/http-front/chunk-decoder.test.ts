import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkDecoder } from '../../../src/http-front/chunk-decoder';
import { encodeChunk, LAST_CHUNK } from '../../../src/protocol/http-response';

const FRAMED = Buffer.concat([encodeChunk('hello '), encodeChunk(Buffer.alloc(300, 0x61)), Buffer.from('3;ext=1\r\nend\r\n'), LAST_CHUNK]);
const BODY = `hello ${'a'.repeat(300)}end`;

test('decodes chunked framing split at every possible byte, and knows when the body is over', () => {
  for (let cut = 0; cut <= FRAMED.length; cut++) {
    const d = new ChunkDecoder();
    const out = [...d.push(FRAMED.subarray(0, cut)), ...d.push(FRAMED.subarray(cut))];
    assert.equal(Buffer.concat(out).toString(), BODY, `cut at ${cut}`);
    assert.equal(d.done, true);
  }
});

test('one byte at a time, with a trailer section', () => {
  const d = new ChunkDecoder();
  const framed = Buffer.concat([encodeChunk('xy'), Buffer.from('0\r\nX-Trailer: 1\r\n\r\n')]);
  const out: Buffer[] = [];
  for (const byte of framed) {
    assert.equal(d.done, false);
    out.push(...d.push(Buffer.from([byte])));
  }
  assert.equal(Buffer.concat(out).toString(), 'xy');
  assert.equal(d.done, true);
});

test('malformed framing is a RESPONSE_INVALID error', () => {
  assert.throws(() => new ChunkDecoder().push(Buffer.from('zz\r\n')), /bad chunk size line/);
  assert.throws(() => new ChunkDecoder().push(Buffer.from('2\r\nabX\r\n')), /not followed by CRLF/);
});
