import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, M2PoolError } from '../../../src/errors';
import { WS_OPCODE, encodeCloseFrame, encodeFrame, handshakeResponse, websocketAccept } from '../../../src/protocol/websocket';

const hex = (b: Buffer, n = b.length): string => b.subarray(0, n).toString('hex');

function throwsInvalid(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof M2PoolError, String(err));
    assert.equal(err.code, ErrorCode.RESPONSE_INVALID);
    assert.match(err.message, message);
    return true;
  });
}

describe('encodeFrame', () => {
  test('encodes a final unmasked text frame (vector 18: 81 02 "ok")', () => {
    assert.equal(hex(encodeFrame(WS_OPCODE.TEXT, 'ok')), '81026f6b');
    assert.equal(hex(encodeFrame(WS_OPCODE.BINARY, Buffer.from([0, 255]))), '820200ff');
    assert.equal(hex(encodeFrame(WS_OPCODE.TEXT, '')), '8100');
  });

  test('uses 7-bit, 16-bit and 64-bit lengths at the right boundaries', () => {
    const cases: Array<[number, string, number]> = [
      [125, '827d', 2],
      [126, '827e007e', 4],
      [65535, '827effff', 4],
      [65536, '827f0000000000010000', 10],
    ];
    for (const [n, header, headLen] of cases) {
      const payload = Buffer.alloc(n, 0x5a);
      const frame = encodeFrame(WS_OPCODE.BINARY, payload);
      assert.equal(hex(frame, headLen), header, String(n));
      assert.equal(frame.length, headLen + n);
      assert.deepEqual(frame.subarray(headLen), payload);
    }
  });

  test('clears FIN for fragments and encodes continuation frames', () => {
    assert.equal(hex(encodeFrame(WS_OPCODE.TEXT, 'a', { fin: false })), '010161');
    assert.equal(hex(encodeFrame(WS_OPCODE.CONTINUATION, 'b')), '800162');
  });

  test('encodes ping and pong and enforces control-frame rules', () => {
    assert.equal(hex(encodeFrame(WS_OPCODE.PING, 'p')), '890170');
    assert.equal(hex(encodeFrame(WS_OPCODE.PONG, Buffer.alloc(125)), 2), '8a7d');
    throwsInvalid(() => encodeFrame(WS_OPCODE.PING, Buffer.alloc(126)), /> 125 bytes/);
    throwsInvalid(() => encodeFrame(WS_OPCODE.CLOSE, '', { fin: false }), /must not be fragmented/);
  });

  test('rejects reserved and invalid opcodes', () => {
    for (const op of [3, 7, 11, 15, 16, -1, 1.5]) throwsInvalid(() => encodeFrame(op, 'x'), /opcode/);
  });
});

describe('encodeCloseFrame', () => {
  test('encodes an empty close, a code, and a code with a UTF-8 reason', () => {
    assert.equal(hex(encodeCloseFrame()), '8800');
    assert.equal(hex(encodeCloseFrame(1000)), '880203e8');
    assert.equal(hex(encodeCloseFrame(1001, 'bye')), '880503e9627965');
    assert.equal(hex(encodeCloseFrame(4000, 'é')), '88040fa0c3a9');
    assert.equal(encodeCloseFrame(1000, 'r'.repeat(123)).length, 127);
  });

  test('rejects codes that may not be sent, long reasons and a reason without a code', () => {
    for (const code of [999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 1000.5]) {
      throwsInvalid(() => encodeCloseFrame(code), /may not be sent/);
    }
    throwsInvalid(() => encodeCloseFrame(1000, 'r'.repeat(124)), /more than 123/);
    throwsInvalid(() => encodeCloseFrame(undefined, 'why'), /needs a close code/);
  });
});

describe('handshake', () => {
  test('computes Sec-WebSocket-Accept (RFC 6455 §1.3 and the ruby-mongrel2 sample)', () => {
    assert.equal(websocketAccept('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    assert.equal(websocketAccept('SQvDVdT2SbgTg6P/lSZo7Q=='), 'GR7M5bFPiY2GvVc5a7CIMErQ18Q=');
  });

  test('builds the 101 response exactly as vector 16, optionally with a subprotocol', () => {
    const accept = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
    const base = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n`;
    assert.equal(handshakeResponse(accept).toString('latin1'), `${base}\r\n`);
    assert.equal(handshakeResponse(accept, 'chat').toString('latin1'), `${base}Sec-WebSocket-Protocol: chat\r\n\r\n`);
  });

  test('rejects a malformed accept value or subprotocol', () => {
    throwsInvalid(() => handshakeResponse('short='), /not a base64 SHA-1/);
    throwsInvalid(() => handshakeResponse('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX: y'), /not a base64 SHA-1/);
    throwsInvalid(() => handshakeResponse('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'a b'), /not a token/);
  });
});
