import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from '../../../src/app/app';
import { FrameWriter } from '../../../src/app/frame-writer';
import { CollectingSink } from '../../../src/app/testing/testing';
import type { WebSocketHandler } from '../../../src/app/websocket/websocket';
import { ConfigError } from '../../../src/errors';

describe('app.websocket registration', () => {
  it('rejects a handler without message, non-function hooks, bad subprotocols, sizes and timeouts', () => {
    const app = new App();
    const bad: Array<[unknown, object]> = [
      [{}, {}],
      [{ message: () => undefined, open: 'yes' }, {}],
      [{ message: () => undefined }, { protocols: ['has space'] }],
      [{ message: () => undefined }, { maxMessageBytes: -1 }],
      [{ message: () => undefined }, { timeoutMs: 0 }],
    ];
    for (const [handler, options] of bad) {
      // NOTE: the casts feed deliberately invalid input, as JavaScript callers could.
      assert.throws(() => app.websocket('/ws', handler as WebSocketHandler, options), ConfigError, JSON.stringify(options));
    }
    assert.throws(() => app.websocket('no-slash', { message: () => undefined }), ConfigError);
  });

  it('lists websocket and socket routes among the route labels, with their names', () => {
    const app = new App()
      .get('/', () => 'home')
      .websocket('/ws/:room', { message: () => undefined }, { name: 'room-socket' })
      .socket('@chat', () => undefined);
    assert.deepEqual(app.routes, ['/', 'room-socket', '@chat']);
  });
});

describe('FrameWriter', () => {
  it('writes what was sent in one turn as one message, and the close message after the close frame', async () => {
    const sink = new CollectingSink();
    const writer = new FrameWriter(sink);
    writer.send(Buffer.from('a'));
    writer.send(Buffer.from('b'));
    assert.equal(writer.close(Buffer.from('c')), true);
    assert.equal(writer.send(Buffer.from('d')), false);
    assert.equal(writer.close(Buffer.from('e')), false);
    await writer.flush();
    assert.deepEqual([sink.writes.map((w) => w.toString()), sink.closed], [['abc'], true]);
  });

  it('holds frames until started (a handshake sends the 101 first)', async () => {
    const sink = new CollectingSink();
    const writer = new FrameWriter(sink, { started: false });
    writer.send(Buffer.from('frame'));
    await writer.flush();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(sink.writes.length, 0);
    await sink.write(Buffer.from('101'));
    writer.start();
    await writer.flush();
    assert.deepEqual(sink.writes.map((w) => w.toString()), ['101', 'frame']);
  });

  it('reports sink failures to onError and still attempts the close', async () => {
    const errors: unknown[] = [];
    let closed = false;
    const writer = new FrameWriter(
      {
        write: () => Promise.reject(new Error('send failed')),
        close: async () => {
          closed = true;
        },
      },
      { onError: (err) => errors.push(err) },
    );
    writer.close(Buffer.from([0x88, 0x00]));
    await writer.flush();
    assert.deepEqual([errors.map((e) => (e as Error).message), closed], [['send failed'], true]);
  });
});

describe('app.socket (Mongrel2 JSON/XML socket messages)', () => {
  const event = (path: string, data: string, method: 'JSON' | 'XML' = 'JSON') => ({
    msg: { sender: 'm2', connId: 42, path, headers: { PATH: path, METHOD: method, REMOTE_ADDR: '127.0.0.1' }, body: Buffer.from(data), protocol: 'json' as const },
    method,
    data,
  });

  it('calls the handler with the text and sends each send, then the return value, as its own message', async () => {
    let seen: unknown;
    const app = new App().socket('@chat', (ctx, data) => {
      seen = { data, method: ctx.method, connId: ctx.connId, remote: ctx.req.remoteAddress };
      ctx.send('one');
      ctx.send(Buffer.from('two'));
      return { type: 'ack' };
    });
    const sink = new CollectingSink();
    const result = await app.dispatchSocketMessage(event('@chat', '{"type":"join"}'), sink);
    assert.deepEqual(seen, { data: '{"type":"join"}', method: 'JSON', connId: 42, remote: '127.0.0.1' });
    // Mongrel2 base64-encodes each message on its own: they must not be merged.
    assert.deepEqual(sink.writes.map((w) => w.toString()), ['one', 'two', '{"type":"ack"}']);
    assert.deepEqual([result.outcome, result.route, result.bytesSent, sink.closed], ['message', '@chat', 20, false]);
  });

  it('closes on ctx.close() and never sends an empty message (that would be a close)', async () => {
    const app = new App().socket('<feed', (ctx) => {
      ctx.send('');
      ctx.close();
    });
    const sink = new CollectingSink();
    await app.dispatchSocketMessage(event('<feed', '<x/>', 'XML'), sink);
    assert.deepEqual([sink.writes.length, sink.closed], [0, true]);
  });

  it('ignores messages for unknown routes and reports handler errors without replying', async () => {
    const app = new App().socket('@chat', () => {
      throw new Error('boom');
    });
    const sink = new CollectingSink();
    assert.equal((await app.dispatchSocketMessage(event('@other', '{}'), sink)).outcome, 'unmatched');
    assert.equal((await app.dispatchSocketMessage(event('@chat', '{}'), sink)).outcome, 'error');
    assert.deepEqual([sink.writes.length, sink.closed], [0, false]);
  });

  it('rejects bad and duplicate socket paths', () => {
    const app = new App().socket('@chat', () => undefined);
    for (const path of ['chat', '/chat', '@*', '@', '@a b']) assert.throws(() => app.socket(path, () => undefined), ConfigError, path);
    assert.throws(() => app.socket('@chat', () => undefined), ConfigError);
  });
});
