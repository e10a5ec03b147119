/**
 * `ctx.conn` and `app.push` without a topology (issue #20): the connection's string form and its parse, pushes
 * grouped per Mongrel2 UUID and split at 128 ids, each kind framed for its client, rooms refused without a hub,
 * SSE streams and parked polls, and the clear error outside a worker.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, Conn, ErrorCode, formatSseEvent, lastEventId, Parked, type PushTransport, type RoomHub } from '../../../src';
import { parseReply } from '../../../src/protocol/reply-writer';
import { CollectingSink, parseFrames } from '../../../src/app';

const A = '6a3f9c3e-5a53-4d4b-9d1e-3c2b9a7d1f00';
const B = '8c1d4f52-2b7e-4c39-a0a4-5e6f7d8c9b01';

/** A transport that records what it was handed; `hub` records room operations. */
function recording(withHub: boolean): { transport: PushTransport; frames: Buffer[]; ops: unknown[][] } {
  const frames: Buffer[] = [];
  const ops: unknown[][] = [];
  const hub: RoomHub = {
    join: (...args) => void ops.push(['join', ...args]),
    leave: (...args) => void ops.push(['leave', ...args]),
    broadcast: (...args) => void ops.push(['broadcast', ...args]),
    answer: (...args) => void ops.push(['answer', ...args]),
    gone: (...args) => void ops.push(['gone', ...args]),
    members: () => Promise.resolve([[`${A}:1`, 'websocket'], [`${B}:2`, 'sse']]),
  };
  return { frames, ops, transport: { messages: (f) => (frames.push(...f), Promise.resolve()), hub: withHub ? hub : undefined } };
}

describe('Conn', () => {
  test('a stable string form that parses back; JSON carries it', () => {
    const conn = new Conn(A, 17);
    assert.equal(String(conn), `${A}:17`);
    assert.ok(Conn.parse(String(conn)).equals(conn));
    assert.equal(JSON.stringify({ conn }), `{"conn":"${A}:17"}`);
    assert.equal(Conn.parse(JSON.parse(JSON.stringify(conn)) as string).id, 17);
  });

  test('anything else is refused with CONN_INVALID', () => {
    for (const bad of ['', 'x', `${A}`, `${A}:`, `${A}:-1`, `${A}:4294967296`, `bad_uuid:1`, `${A}:1:2`, `${A}:1 `]) {
      assert.throws(() => Conn.parse(bad), (err: Error & { code?: string }) => err.code === ErrorCode.CONN_INVALID, bad);
    }
  });

  test('ctx.conn on HTTP, WebSocket and socket routes', async () => {
    const app = new App();
    app.get('/who', (ctx) => String(ctx.conn));
    app.websocket('/ws', { message: (ctx) => String(ctx.conn) });
    app.socket('@who', (ctx) => String(ctx.conn));
    const res = await app.request('/who');
    assert.match(res.text(), /^[A-Za-z0-9-]+:\d+$/);
    const ws = await app.websocketMessage('/ws', 'hi');
    assert.match(ws.frames[0]?.text() ?? '', /^[A-Za-z0-9-]+:\d+$/);
    const sink = new CollectingSink();
    const msg = { sender: A, connId: 42, path: '@who', headers: { PATH: '@who', METHOD: 'JSON' }, body: Buffer.from('{}'), protocol: 'json' as const };
    await app.dispatchSocketMessage({ msg, method: 'JSON', data: '{}' }, sink);
    assert.deepEqual(sink.writes.map((w) => w.toString()), [`${A}:42`]);
  });
});

describe('app.push', () => {
  test('outside a worker every call rejects with PUSH_UNAVAILABLE', async () => {
    const app = new App();
    await assert.rejects(app.push.websocket(`${A}:1`, 'x'), { code: ErrorCode.PUSH_UNAVAILABLE });
    await assert.rejects(app.push.broadcast('r', 'x'), { code: ErrorCode.PUSH_UNAVAILABLE });
    app.get('/events', (ctx) => app.push.stream(ctx));
    assert.equal((await app.request('/events')).status, 500);
  });

  test('targets are grouped per Mongrel2 UUID and split at 128 ids; duplicates go once', async () => {
    const app = new App();
    const rec = recording(false);
    app.push.bind(rec.transport);
    const targets = [...Array.from({ length: 300 }, (_, i) => `${A}:${i}`), `${B}:7`, `${A}:0`];
    await app.push.send(targets, 'raw bytes');
    const parsed = rec.frames.map((f) => parseReply(f));
    assert.deepEqual(parsed.map((p) => [p.sender, p.connIds.length]), [[A, 128], [A, 128], [A, 44], [B, 1]]);
    assert.deepEqual(parsed.flatMap((p) => (p.sender === A ? p.connIds : [])), Array.from({ length: 300 }, (_, i) => i));
    for (const p of parsed) assert.equal(p.body.toString(), 'raw bytes');
  });

  test('each kind is framed for its client; close sends an empty body', async () => {
    const app = new App();
    const rec = recording(false);
    app.push.bind(rec.transport);
    await app.push.websocket(`${A}:1`, 'hi');
    await app.push.websocket(`${A}:1`, Buffer.from([1, 2]));
    await app.push.json(`${A}:1`, { a: 1 });
    await app.push.sse(`${A}:1`, { event: 'e', id: '9', data: 'x\ny' });
    await app.push.close([new Conn(A, 1), new Conn(B, 2)]);
    const bodies = rec.frames.map((f) => parseReply(f).body);
    const frames = parseFrames(Buffer.concat(bodies.slice(0, 3)));
    assert.deepEqual(frames.map((f) => [f.opcode, f.payload.toString('hex')]), [[1, Buffer.from('hi').toString('hex')], [2, '0102'], [1, Buffer.from('{"a":1}').toString('hex')]]);
    assert.equal(bodies[3]?.toString(), 'id: 9\nevent: e\ndata: x\ndata: y\n\n');
    assert.deepEqual(bodies.slice(4).map((b) => b.length), [0, 0]);
  });

  test('rooms without a hub (direct topology) reject with PUSH_UNAVAILABLE; pushes still work', async () => {
    const app = new App();
    app.push.bind(recording(false).transport);
    await assert.rejects(app.push.join('r', `${A}:1`), { code: ErrorCode.PUSH_UNAVAILABLE });
    await assert.rejects(app.push.members('r'), { code: ErrorCode.PUSH_UNAVAILABLE });
    assert.throws(() => app.push.park({ conn: new Conn(A, 1) }, { room: 'r' }), { code: ErrorCode.PUSH_UNAVAILABLE });
    await app.push.websocket(`${A}:1`, 'still fine');
  });

  test('a broadcast carries one body per kind; members come back as Conns', async () => {
    const app = new App();
    const rec = recording(true);
    app.push.bind(rec.transport);
    await app.push.broadcast('room', 'hello', { except: `${A}:3`, event: 'chat' });
    const [op, room, bodies, except] = rec.ops[0] as [string, string, Record<string, Buffer>, string];
    assert.equal(op, 'broadcast');
    assert.equal(room, 'room');
    assert.equal(except, `${A}:3`);
    assert.equal(parseFrames(bodies['websocket'] as Buffer)[0]?.payload.toString(), 'hello');
    assert.equal(bodies['sse']?.toString(), 'event: chat\ndata: hello\n\n');
    assert.equal(bodies['raw']?.toString(), 'hello');
    assert.match(bodies['poll']?.toString() ?? '', /^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n[\s\S]*\r\n\r\nhello$/);
    const members = await app.push.members('room');
    assert.deepEqual(members.map((m) => [String(m.conn), m.kind]), [[`${A}:1`, 'websocket'], [`${B}:2`, 'sse']]);
  });

  test('an SSE stream sends its head, joins its rooms as sse and ends the request; a poll parks', async () => {
    const app = new App();
    const rec = recording(true);
    app.push.bind(rec.transport);
    app.get('/events/:room', (ctx) => app.push.stream(ctx, { rooms: [ctx.params['room']!], heartbeatMs: 5000, retryMs: 2000 }));
    app.get('/poll', (ctx) => app.push.park(ctx, { room: 'p', timeoutMs: 1000 }));
    const res = await app.request('/events/lobby');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    assert.equal(res.headers['content-length'], undefined, 'the body runs until the connection closes');
    assert.equal(res.text(), 'retry: 2000\n\n');
    assert.deepEqual(rec.ops.map((o) => [o[0], o[1], o[3], (o[4] as { heartbeatMs?: number }).heartbeatMs]), [['join', 'lobby', 'sse', 5000]]);
    const parked = app.push.park({ conn: new Conn(A, 5) }, { room: 'p' });
    assert.ok(parked instanceof Parked);
    parked.hubStep();
    const join = rec.ops[1] as [string, string, string[], string, { timeoutMs: number; timeoutReply: Buffer }];
    assert.deepEqual([join[1], join[2], join[3], join[4].timeoutMs], ['p', [`${A}:5`], 'poll', 25_000]);
    assert.match(join[4].timeoutReply.toString(), /^HTTP\/1\.1 204 No Content\r\nConnection: close\r\n\r\n$/);
  });

  test('SSE fields and Last-Event-ID', async () => {
    assert.equal(formatSseEvent({ data: 'a\r\nb' }).toString(), 'data: a\ndata: b\n\n');
    assert.throws(() => formatSseEvent({ data: '', id: 'a\nb' }), TypeError);
    const app = new App();
    app.get('/id', (ctx) => lastEventId(ctx.req) ?? 'none');
    assert.equal((await app.request('/id', { headers: { 'Last-Event-ID': '42' } })).text(), '42');
    assert.equal((await app.request('/id')).text(), 'none');
  });

  test('disconnect hooks run in order; a throwing hook does not stop the next', async () => {
    const app = new App();
    const seen: string[] = [];
    app.onDisconnect(() => {
      throw new Error('boom');
    });
    app.onDisconnect((conn) => void seen.push(String(conn)));
    const result = await app.dispatchDisconnect(new Conn(A, 9));
    assert.deepEqual(seen, [`${A}:9`]);
    assert.equal(result.hookErrors, 1);
    assert.equal(result.websocket, 'none');
  });
});
