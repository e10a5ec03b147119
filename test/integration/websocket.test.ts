/**
 * WebSocket end to end: a real Mongrel2 (which only detects the upgrade, unmasks and reassembles) and a real
 * `m2pool worker` serving the example app's `/ws/echo`, driven by a raw RFC 6455 client. Bytes are asserted exactly.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test, type TestContext } from 'node:test';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { HELLO_APP, startWorker, type TestProcess } from '../helpers/processes';
import { expectedAccept, WebSocketClient, type ConnectOptions } from '../helpers/websocket-client';

const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;

describe('websocket over Mongrel2', { timeout: 60_000 }, () => {
  let m2: TestMongrel2;
  let worker: TestProcess;
  /** What the worker's outcome accounting must add up to at the end. */
  const sent = { accepted: 0, refused: 0, http: 0, frames: 0 };

  before(async () => {
    m2 = await startTestMongrel2();
    worker = await startWorker(HELLO_APP, m2.workerArgs());
  });
  after(async () => {
    await worker?.stop();
    await m2?.stop();
  });

  async function open(t: TestContext, path = '/ws/echo', options: ConnectOptions = {}): Promise<WebSocketClient> {
    const client = await WebSocketClient.connect(m2.port, path, options);
    if (client.response.status === 101) sent.accepted += 1;
    else sent.refused += 1;
    t.after(() => {
      sent.frames += client.framesSent;
      client.destroy();
    });
    return client;
  }

  test('a Sec-WebSocket-Key that is not base64 of 16 bytes is refused with 400 through Mongrel2, never 101', { timeout: 10_000 }, async (t) => {
    for (const key of ['short', 'AAAAAAAAAAAAAAAAAAAAAAAA', `${randomKeyOf(17)}`]) {
      const ws = await open(t, '/ws/echo', { key });
      assert.equal(ws.response.status, 400, key);
    }
  });

  test('the handshake answers 101 with the accept value of the random key', { timeout: 10_000 }, async (t) => {
    const ws = await open(t);
    const accept = expectedAccept(ws.key);
    assert.equal(
      ws.response.head.toString('latin1'),
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    assert.equal(ws.closed, false);
  });

  test('a text message comes back as the same TEXT frame', { timeout: 10_000 }, async (t) => {
    const ws = await open(t);
    ws.send(TEXT, 'héllo ✓');
    const frame = await ws.nextFrame();
    const payload = Buffer.from('héllo ✓', 'utf8');
    assert.deepEqual(frame.header, Buffer.from([0x81, payload.length]));
    assert.deepEqual(frame.payload, payload);
    assert.equal(frame.masked, false);
  });

  test('a binary message with NUL and 0xFF bytes comes back byte for byte', { timeout: 10_000 }, async (t) => {
    const ws = await open(t);
    const payload = Buffer.from([0x00, 0xff, 0x00, 0x80, 0x0d, 0x0a, 0xff]);
    ws.send(BINARY, payload);
    const frame = await ws.nextFrame();
    assert.deepEqual(frame.header, Buffer.from([0x82, 0x07]));
    assert.deepEqual(frame.payload, payload);
  });

  test('ping is answered with a pong carrying the same payload', { timeout: 10_000 }, async (t) => {
    const ws = await open(t);
    ws.send(PING, Buffer.from([1, 2, 0, 255]));
    const frame = await ws.nextFrame();
    assert.deepEqual(Buffer.concat([frame.header, frame.payload]), Buffer.from([0x8a, 0x04, 1, 2, 0, 255]));
    // The connection stays usable.
    ws.send(TEXT, 'after ping');
    assert.equal((await ws.nextFrame()).payload.toString(), 'after ping');
  });

  test('a close frame is echoed with its code and the TCP connection is closed', { timeout: 10_000 }, async (t) => {
    const ws = await open(t);
    ws.send(CLOSE, Buffer.from([0x03, 0xe8, ...Buffer.from('bye')]));
    const frame = await ws.nextFrame();
    assert.deepEqual(Buffer.concat([frame.header, frame.payload]), Buffer.from([0x88, 0x02, 0x03, 0xe8]));
    await ws.waitClosed();
  });

  test('messages over 125 and 65535 bytes use the 16- and 64-bit length forms', { timeout: 15_000 }, async (t) => {
    const ws = await open(t);
    const medium = Buffer.from('m'.repeat(300));
    ws.send(TEXT, medium);
    const first = await ws.nextFrame();
    assert.deepEqual(first.header, Buffer.from([0x81, 0x7e, 0x01, 0x2c]));
    assert.deepEqual(first.payload, medium);

    const big = randomBytes(70_000);
    ws.send(BINARY, big);
    const second = await ws.nextFrame(10_000);
    assert.deepEqual(second.header, Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]));
    assert.equal(second.payload.length, 70_000);
    assert.ok(second.payload.equals(big), '70 KB payload differs');
  });

  test('a burst of messages comes back complete and in order', { timeout: 15_000 }, async (t) => {
    const ws = await open(t);
    const count = 40;
    for (let i = 0; i < count; i++) ws.send(TEXT, `message ${i} ${'x'.repeat(1000)}`);
    for (let i = 0; i < count; i++) assert.equal((await ws.nextFrame()).payload.toString().split(' ', 2).join(' '), `message ${i}`);
  });

  test('an invalid UTF-8 text message closes the connection with 1007', { timeout: 10_000 }, async (t) => {
    const ws = await open(t);
    ws.send(TEXT, Buffer.from([0x68, 0xff, 0xfe]));
    const frame = await ws.nextFrame();
    assert.equal(frame.opcode, CLOSE);
    assert.equal(frame.payload.readUInt16BE(0), 1007);
    await ws.waitClosed();
  });

  test('a reserved opcode closes the connection with 1002', { timeout: 10_000 }, async (t) => {
    const ws = await open(t);
    ws.send(0x3, 'x');
    const frame = await ws.nextFrame();
    assert.equal(frame.opcode, CLOSE);
    assert.equal(frame.payload.readUInt16BE(0), 1002);
    await ws.waitClosed();
  });

  test('open returning false refuses with 403 and closes the connection', { timeout: 10_000 }, async (t) => {
    const ws = await open(t, '/ws/echo', { headers: [['Origin', 'http://evil.example']] });
    assert.equal(ws.response.status, 403);
    assert.equal(ws.response.headers['connection'], 'close');
    assert.equal((await ws.readToClose()).toString(), 'Forbidden');
  });

  test('a handshake to a path without a websocket route gets 404 — also where HTTP routes exist', { timeout: 10_000 }, async (t) => {
    for (const path of ['/nope', '/echo/x']) {
      const ws = await open(t, path);
      assert.equal(ws.response.status, 404, path);
      assert.equal((await ws.readToClose()).toString(), 'Not Found');
    }
    // The HTTP route itself is untouched.
    const res = await fetch(`${m2.baseUrl}/echo/x`);
    sent.http += 1;
    assert.equal(await res.text(), '/echo/x');
  });

  // Last: it stops the worker to read its final stats.
  test('handshakes are counted as requests (101 = response, refusal = error), frames apart', { timeout: 20_000 }, async () => {
    await worker.stop();
    const exit = await worker.waitForLog((l) => l['msg'] === 'worker.exit');
    const stats = exit['stats'] as Record<string, number>;
    const outcomes = ['response', 'error', 'timeout', 'aborted', 'closed'].reduce((sum, k) => sum + (stats[k] ?? 0), 0);
    assert.deepEqual(
      { received: stats['received'], inFlight: stats['inFlight'], outcomes, response: stats['response'], error: stats['error'], frames: stats['websocketFrames'] },
      {
        received: sent.accepted + sent.refused + sent.http,
        inFlight: 0,
        outcomes: sent.accepted + sent.refused + sent.http,
        response: sent.accepted + sent.http,
        error: sent.refused,
        frames: sent.frames,
      },
    );
  });
});

/** Base64 of `n` random bytes (16 is the only valid Sec-WebSocket-Key length). */
function randomKeyOf(n: number): string {
  return randomBytes(n).toString('base64');
}
