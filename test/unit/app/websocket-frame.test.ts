import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { App } from '../../../src/app/app';
import type { WebSocketCloseInfo, WebSocketHandler } from '../../../src/app/websocket/websocket';
import { captureLogs, LEVEL } from './log-capture';

const echo: WebSocketHandler = { message: (_ctx, msg) => msg.text ?? msg.data };

function echoApp(options: { timeoutMs?: number; maxMessageBytes?: number } = {}): App {
  return new App().websocket('/ws', echo, options);
}

describe('websocket messages', () => {
  it('sends a returned string as TEXT and returned bytes as BINARY, exactly', async () => {
    const app = echoApp();
    const text = await app.websocketMessage('/ws', 'héllo');
    assert.deepEqual(text.sink.writes, [Buffer.from([0x81, 0x06, 0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f])]);
    assert.deepEqual(
      { outcome: text.result.outcome, route: text.result.route, opcode: text.result.opcode, closeCode: text.result.closeCode, bytesSent: text.result.bytesSent },
      { outcome: 'message', route: '/ws', opcode: 1, closeCode: 0, bytesSent: 8 },
    );
    const binary = await app.websocketMessage('/ws', Buffer.from([0, 0xff, 0]));
    assert.deepEqual(binary.sink.writes, [Buffer.from([0x82, 0x03, 0x00, 0xff, 0x00])]);
    assert.equal(binary.closed, false);
  });

  it('sends other returned values as JSON text and nothing for undefined', async () => {
    const app = new App()
      .websocket('/json', { message: () => ({ ok: true }) })
      .websocket('/quiet', { message: () => undefined });
    assert.equal((await app.websocketMessage('/json', 'x')).frames[0]?.text(), '{"ok":true}');
    const quiet = await app.websocketMessage('/quiet', 'x');
    assert.deepEqual([quiet.sink.writes.length, quiet.result.outcome], [0, 'message']);
  });

  it('gives the handler the message, the params and the handshake request (stateless: rebuilt per frame)', async () => {
    let seen: unknown;
    const app = new App().websocket('/rooms/:room', {
      message: (ctx, msg) => {
        seen = { room: ctx.params['room'], q: ctx.req.query['q'], method: ctx.req.method, body: ctx.req.body.length, connId: ctx.connId, opcode: msg.opcode, text: msg.text, data: msg.data.toString(), fin: msg.fin };
      },
    });
    await app.websocketMessage('/rooms/lobby?q=1', 'hi', { connId: 9 });
    assert.deepEqual(seen, { room: 'lobby', q: '1', method: 'WEBSOCKET', body: 0, connId: 9, opcode: 1, text: 'hi', data: 'hi', fin: true });
  });

  it('batches the frames sent in one turn into one Mongrel2 message, in order', async () => {
    const app = new App().websocket('/ws', {
      message: (ctx) => {
        ctx.send('a');
        ctx.send(Buffer.from('b'));
        ctx.send('c');
        return 'd';
      },
    });
    const res = await app.websocketMessage('/ws', 'x');
    assert.equal(res.sink.writes.length, 1);
    assert.deepEqual(res.frames.map((f) => [f.opcode, f.text()]), [[1, 'a'], [2, 'b'], [1, 'c'], [1, 'd']]);
  });

  it('ctx.flush resolves once the frames are handed over', async () => {
    const app = new App().websocket('/ws', {
      message: async (ctx) => {
        ctx.send('first');
        await ctx.flush();
        ctx.send('second');
      },
    });
    const res = await app.websocketMessage('/ws', 'x');
    assert.deepEqual(res.sink.writes.map((w) => w.subarray(2).toString()), ['first', 'second']);
  });

  it('answers ping with a pong of the same payload and ignores pong, without calling the handler', async () => {
    let calls = 0;
    const app = new App().websocket('/ws', { message: () => void (calls += 1) });
    const ping = await app.websocketMessage('/ws', { opcode: 0x9, payload: Buffer.from([1, 0, 255]) });
    assert.deepEqual(ping.sink.writes, [Buffer.from([0x8a, 0x03, 1, 0, 255])]);
    assert.deepEqual([ping.result.outcome, ping.closed], ['control', false]);
    const pong = await app.websocketMessage('/ws', { opcode: 0xa, payload: 'x' });
    assert.deepEqual([pong.sink.writes.length, pong.result.outcome], [0, 'control']);
    assert.equal(calls, 0);
  });

  it('on a close frame calls close(), then echoes the code and closes', async () => {
    const events: string[] = [];
    let info: WebSocketCloseInfo | undefined;
    const app = new App().websocket('/ws', {
      message: () => undefined,
      close: (ctx, i) => {
        info = i;
        events.push('close hook');
        ctx.send('last words');
      },
    });
    const res = await app.websocketMessage('/ws', { opcode: 0x8, payload: Buffer.from([0x03, 0xe8, ...Buffer.from('bye')]) });
    assert.deepEqual(info, { code: 1000, reason: 'bye' });
    assert.deepEqual(events, ['close hook']);
    assert.deepEqual(res.frames.map((f) => [f.opcode, f.text()]), [[1, 'last words'], [8, '']]);
    assert.deepEqual(res.sink.bytes().subarray(-4), Buffer.from([0x88, 0x02, 0x03, 0xe8]));
    assert.deepEqual([res.closed, res.result.outcome, res.result.closeCode], [true, 'close', 1000]);
  });

  it('echoes an empty close frame for a close without code, reported to the handler as 1005', async () => {
    let info: WebSocketCloseInfo | undefined;
    const app = new App().websocket('/ws', { message: () => undefined, close: (_ctx, i) => void (info = i) });
    const res = await app.websocketMessage('/ws', { opcode: 0x8 });
    assert.deepEqual(res.sink.writes, [Buffer.from([0x88, 0x00])]);
    assert.deepEqual(info, { code: 1005, reason: '' });
    assert.equal(res.closed, true);
  });

  it('still echoes the close when the close hook throws (and logs it)', async () => {
    const { logger, lines } = captureLogs();
    const app = new App({ logger }).websocket('/ws', {
      message: () => undefined,
      close: () => {
        throw new Error('cleanup failed');
      },
    });
    const res = await app.websocketMessage('/ws', { opcode: 0x8, payload: Buffer.from([0x0f, 0xa0]) });
    assert.deepEqual([res.frames[0]?.closeCode, res.closed], [4000, true]);
    assert.deepEqual(lines.filter((l) => l.level === LEVEL.error).map((l) => l.msg), ['websocket close handler failed']);
  });

  const violations: Array<[string, Parameters<App['websocketMessage']>[1], number]> = [
    ['invalid UTF-8 text', { opcode: 0x1, payload: Buffer.from([0x68, 0xff]) }, 1007],
    ['a reserved data opcode', { opcode: 0x3, payload: 'x' }, 1002],
    ['a reserved control opcode', { opcode: 0xb }, 1002],
    ['a continuation without a message', { opcode: 0x0, payload: 'x' }, 1002],
    ['an RSV bit without an extension', { opcode: 0x1, payload: 'x', flags: 0xc1 }, 1002],
    ['a one-byte close payload', { opcode: 0x8, payload: Buffer.from([0x03]) }, 1002],
    ['close code 1005 on the wire', { opcode: 0x8, payload: Buffer.from([0x03, 0xed]) }, 1002],
    ['a close reason that is not UTF-8', { opcode: 0x8, payload: Buffer.from([0x03, 0xe8, 0xff]) }, 1007],
    ['a ping over 125 bytes', { opcode: 0x9, payload: Buffer.alloc(126) }, 1002],
  ];
  for (const [what, message, code] of violations) {
    it(`fails the connection with ${code} on ${what}, without calling the handler`, async () => {
      let calls = 0;
      const app = new App().websocket('/ws', { message: () => void (calls += 1), close: () => void (calls += 1) });
      const res = await app.websocketMessage('/ws', message);
      assert.deepEqual(res.frames.map((f) => [f.opcode, f.closeCode]), [[8, code]]);
      assert.deepEqual([res.closed, res.result.outcome, res.result.closeCode, calls], [true, 'protocol-error', code, 0]);
    });
  }

  it('closes with 1009 for a message over maxMessageBytes', async () => {
    const app = echoApp({ maxMessageBytes: 4 });
    assert.deepEqual((await app.websocketMessage('/ws', 'abcd')).frames[0]?.text(), 'abcd');
    const res = await app.websocketMessage('/ws', 'abcde');
    assert.deepEqual([res.frames[0]?.closeCode, res.closed], [1009, true]);
  });

  it('closes with 1011 when the handler throws, and logs the error', async () => {
    const { logger, lines } = captureLogs();
    const app = new App({ logger }).websocket('/ws', {
      message: (ctx) => {
        ctx.send('partial');
        throw new Error('boom');
      },
    });
    const res = await app.websocketMessage('/ws', 'x');
    assert.deepEqual(res.frames.map((f) => [f.opcode, f.closeCode, f.text()]), [[1, undefined, 'partial'], [8, 1011, 'internal error']]);
    assert.deepEqual([res.closed, res.result.outcome], [true, 'error']);
    assert.deepEqual(lines.filter((l) => l.level === LEVEL.error).map((l) => [l.msg, (l['err'] as { message: string }).message]), [['websocket message handler failed', 'boom']]);
  });

  it('closes with 1011 at the deadline, aborts ctx.signal and drops later sends', async () => {
    let signal: AbortSignal | undefined;
    let late: (() => void) | undefined;
    const app = new App().websocket(
      '/ws',
      {
        message: async (ctx) => {
          signal = ctx.signal;
          await once(ctx.signal, 'abort');
          late = () => ctx.send('late');
        },
      },
      { timeoutMs: 20 },
    );
    const res = await app.websocketMessage('/ws', 'x');
    assert.deepEqual(res.frames.map((f) => [f.opcode, f.closeCode, f.text()]), [[8, 1011, 'handler timed out']]);
    assert.deepEqual([res.closed, res.result.outcome], [true, 'timeout']);
    assert.equal((signal?.reason as DOMException).name, 'TimeoutError');
    late?.();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(res.sink.writes.length, 1);
  });

  it('ctx.close sends the close frame and the close message; later sends and the return value are dropped', async () => {
    const app = new App().websocket('/ws', {
      message: (ctx) => {
        ctx.send('before');
        ctx.close(4001, 'kicked');
        ctx.send('after');
        return 'returned';
      },
    });
    const res = await app.websocketMessage('/ws', 'x');
    assert.deepEqual(res.frames.map((f) => [f.opcode, f.closeCode, f.text()]), [[1, undefined, 'before'], [8, 4001, 'kicked']]);
    assert.deepEqual([res.closed, res.result.outcome, res.result.closeCode, res.sink.writesAfterClose], [true, 'message', 4001, 0]);
  });

  it('ctx.close() defaults to 1000 and rejects codes that may not be sent', async () => {
    const app = new App()
      .websocket('/ok', { message: (ctx) => ctx.close() })
      .websocket('/bad', { message: (ctx) => ctx.close(1006) });
    assert.equal((await app.websocketMessage('/ok', 'x')).frames[0]?.closeCode, 1000);
    const bad = await app.websocketMessage('/bad', 'x');
    assert.deepEqual([bad.frames[0]?.closeCode, bad.result.outcome], [1011, 'error']);
  });

  it('closes with 1011 when a frame reaches a path without websocket route', async () => {
    const res = await echoApp().websocketMessage('/elsewhere', 'x');
    assert.deepEqual([res.frames[0]?.closeCode, res.closed, res.result.outcome, res.result.route], [1011, true, 'protocol-error', '(unmatched)']);
  });

  it('sends nothing when the signal fires (client gone); the handler sees the reason', async () => {
    const controller = new AbortController();
    let reason: unknown;
    const app = new App().websocket('/ws', {
      message: (ctx) => {
        controller.abort(new Error('client disconnected'));
        reason = ctx.signal.reason;
        ctx.send('nobody listens');
      },
    });
    const res = await app.websocketMessage('/ws', 'x', { signal: controller.signal });
    assert.deepEqual([res.sink.writes.length, res.closed, res.result.outcome], [0, false, 'aborted']);
    assert.equal((reason as Error | undefined)?.message, 'client disconnected');
  });
});
