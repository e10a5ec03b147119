/**
 * The WebSocket pieces below the framework: close-payload validation and the frame decoder
 * (src/protocol/websocket.ts), and the per-connection reply batching of the worker (src/worker/reply-coalescer.ts),
 * which exists for WebSocket replies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFrame, encodeCloseFrame, encodeFrame, parseClosePayload, WS_OPCODE } from '../../../src/protocol/websocket';
import { WorkerStats } from '../../../src/worker/stats';
import { ReplyCoalescer } from '../../../src/worker/reply-coalescer';

describe('parseClosePayload', () => {
  it('accepts an empty payload and codes with UTF-8 reasons', () => {
    assert.deepEqual(parseClosePayload(Buffer.alloc(0)), { ok: true, code: undefined, reason: '' });
    assert.deepEqual(parseClosePayload(Buffer.from([0x03, 0xe8, ...Buffer.from('bye ✓')])), { ok: true, code: 1000, reason: 'bye ✓' });
    for (const code of [1001, 1003, 1007, 1011, 1014, 3000, 4999]) {
      assert.equal(parseClosePayload(Buffer.from([code >> 8, code & 0xff])).ok, true, String(code));
    }
  });

  it('rejects lengths and codes RFC 6455 forbids with 1002, bad reasons with 1007', () => {
    const failWith = (payload: Buffer): number | undefined => {
      const info = parseClosePayload(payload);
      return info.ok ? undefined : info.failWith;
    };
    assert.equal(failWith(Buffer.from([0x03])), 1002);
    assert.equal(failWith(Buffer.alloc(126, 0x03)), 1002);
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 2999, 5000]) assert.equal(failWith(Buffer.from([code >> 8, code & 0xff])), 1002, String(code));
    assert.equal(failWith(Buffer.from([0x03, 0xe8, 0xc3])), 1007);
  });
});

describe('decodeFrame', () => {
  it('reads 7-, 16- and 64-bit lengths back from encodeFrame', () => {
    for (const n of [0, 125, 126, 65_535, 65_536, 70_000]) {
      const payload = Buffer.alloc(n, 0xab);
      const bytes = encodeFrame(WS_OPCODE.BINARY, payload);
      const frame = decodeFrame(bytes);
      assert.deepEqual(frame && { fin: frame.fin, opcode: frame.opcode, masked: frame.masked, size: frame.size, len: frame.payload.length }, { fin: true, opcode: 2, masked: false, size: bytes.length, len: n });
      assert.equal(decodeFrame(bytes.subarray(0, bytes.length - 1)), undefined, `truncated ${n}`);
    }
  });

  it('unmasks client frames (RFC 6455 §5.7 example "Hello")', () => {
    const frame = decodeFrame(Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]));
    assert.deepEqual(frame && [frame.masked, frame.payload.toString()], [true, 'Hello']);
  });

  it('reads consecutive frames by offset', () => {
    const bytes = Buffer.concat([encodeFrame(WS_OPCODE.TEXT, 'a'), encodeCloseFrame(1000)]);
    const first = decodeFrame(bytes);
    const second = first && decodeFrame(bytes, first.size);
    assert.deepEqual(second && [second.opcode, second.payload], [8, Buffer.from([0x03, 0xe8])]);
  });
});

describe('ReplyCoalescer', () => {
  it('sends an idle connection’s reply at once and merges what is written in the same turn', async () => {
    const coalescer = new ReplyCoalescer();
    const sent: string[] = [];
    const deliver = async (data: Buffer): Promise<void> => void sent.push(data.toString());
    const writes = [coalescer.write('k', Buffer.from('a'), deliver), coalescer.write('k', Buffer.from('b'), deliver), coalescer.write('other', Buffer.from('x'), deliver)];
    assert.equal(coalescer.size, 2);
    await Promise.all(writes);
    assert.deepEqual(sent.sort(), ['ab', 'x']);
  });

  it('paces a busy connection: later writes wait and leave together', async () => {
    const coalescer = new ReplyCoalescer({ intervalMs: 50, maxIntervalMs: 100 });
    const sent: string[] = [];
    const deliver = async (data: Buffer): Promise<void> => void sent.push(data.toString());
    await coalescer.write('k', Buffer.from('1'), deliver);
    const second = coalescer.write('k', Buffer.from('2'), deliver);
    await new Promise((resolve) => setImmediate(resolve));
    const third = coalescer.write('k', Buffer.from('3'), deliver);
    assert.deepEqual(sent, ['1'], 'the second message waits for the interval');
    await Promise.all([second, third]);
    assert.deepEqual(sent, ['1', '23']);
  });

  it('flushes pending bytes before a close, in order', async () => {
    const coalescer = new ReplyCoalescer();
    const log: string[] = [];
    const deliver = async (data: Buffer): Promise<void> => void log.push(`data ${data.toString()}`);
    const write = coalescer.write('k', Buffer.from('bye'), deliver);
    await coalescer.close('k', async () => void log.push('close'));
    await write;
    assert.deepEqual(log, ['data bye', 'close']);
  });

  it('rejects the writers of a batch whose delivery failed', async () => {
    const coalescer = new ReplyCoalescer();
    await assert.rejects(coalescer.write('k', Buffer.from('x'), () => Promise.reject(new Error('send failed'))), /send failed/);
  });
});

describe('WorkerStats', () => {
  it('counts websocket frames and socket messages apart from HTTP outcomes', () => {
    const stats = new WorkerStats();
    stats.begin();
    stats.end('response');
    stats.websocketFrames += 3;
    stats.socketMessages += 1;
    const snap = stats.snapshot();
    assert.deepEqual([snap['received'], snap['response'], snap['websocketFrames'], snap['socketMessages']], [1, 1, 3, 1]);
  });
});
