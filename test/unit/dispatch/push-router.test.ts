/**
 * The dispatcher's pushes and rooms without sockets (issue #20): UUID routing learned from Mongrel2's messages,
 * broadcasts split per server, kind and 128 members, membership that survives nothing but disconnects, one event
 * per departure, parked polls answered once, heartbeats, and the merge of consecutive pushes (Mongrel2's 16-message
 * queue, docs/mongrel2.md §4.4).
 */
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { encodeClose, encodeReply, parseReply } from '../../../src/protocol/reply-writer';
import { PushRouter } from '../../../src/dispatch/push-router';
import { DispatcherStats } from '../../../src/dispatch/stats';
import { BatchWriter, readBatch } from '../../../src/transport/dispatch-wire';
import { alwaysPayload, EventTag, opPayload, PushTag, PUSH_COMMAND, readOp } from '../../../src/transport/push-wire';
import { disconnectNotice, mongrel2Frame } from '../../helpers/mongrel2-frames';

const A = '6a3f9c3e-5a53-4d4b-9d1e-3c2b9a7d1f00';
const B = '8c1d4f52-2b7e-4c39-a0a4-5e6f7d8c9b01';
const WORKER = Buffer.from('w1');

function setup() {
  const posted: Array<[number, Buffer]> = [];
  const events: Array<{ tag: number; id: number; header: Record<string, unknown>; tail: Buffer }> = [];
  const stats = new DispatcherStats();
  let now = 1_000;
  let workers = 1;
  const collect = (frames: Buffer[]): void => {
    readBatch(frames, 0, alwaysPayload, (tag, id, _s, payload) => {
      const op = readOp(payload as Buffer);
      if (op !== undefined) events.push({ tag, id, header: op.header, tail: Buffer.from(op.tail) });
    });
  };
  const router = new PushRouter(
    { post: (server, frame) => void posted.push([server, frame]), toAnyWorker: (frames) => (workers > 0 ? (collect(frames), true) : false), toWorker: (_a, frames) => collect(frames) },
    stats,
    pino({ level: 'silent' }),
    () => now,
  );
  router.fromMongrel2(0, mongrel2Frame({ connId: 1, sender: A }));
  router.fromMongrel2(1, mongrel2Frame({ connId: 1, sender: B }));
  const push = (entries: Array<[number, Buffer, number?]>): void => {
    const w = new BatchWriter();
    for (const [tag, payload, id] of entries) w.add(tag, id ?? 0, 0, payload);
    assert.equal(router.handle(WORKER, w.take(PUSH_COMMAND)), undefined);
  };
  return {
    router, posted, events, stats, push,
    advance: (ms: number) => (now += ms),
    noWorkers: () => (workers = 0),
    join: (room: string | null, conns: string[], kind = 'websocket', extra: object = {}, tail?: Buffer) => push([[PushTag.JOIN, opPayload({ room, conns, kind, ...extra }, tail)]]),
  };
}

describe('push router', () => {
  test('a message goes to the server its UUID names; an unknown UUID is dropped and counted', async () => {
    const s = setup();
    s.push([[PushTag.MESSAGE, encodeReply(B, [5], 'to b')[0]!], [PushTag.MESSAGE, encodeReply('f00-unknown', [5], 'x')[0]!]]);
    await turn();
    assert.deepEqual(s.posted.map(([server, f]) => [server, parseReply(f).body.toString()]), [[1, 'to b']]);
    assert.equal(s.stats.pushRejected.get('unknown-server'), 1);
    assert.equal(s.stats.pushDeliveries, 1);
  });

  test('a broadcast is one message per 128 members per server and kind, in join order, except the sender', async () => {
    const s = setup();
    s.join('r', Array.from({ length: 300 }, (_, i) => `${A}:${i + 1}`));
    s.join('r', [`${B}:1`, `${B}:2`], 'sse');
    const bodies = [Buffer.from('WS'), Buffer.from('SSE'), Buffer.alloc(0), Buffer.alloc(0)];
    s.push([[PushTag.BROADCAST, opPayload({ room: 'r', lens: bodies.map((b) => b.length), except: `${A}:2` }, Buffer.concat(bodies))]]);
    await turn();
    const sent = s.posted.map(([server, f]) => ({ server, ...parseReply(f) }));
    assert.deepEqual(sent.map((m) => [m.server, m.connIds.length, m.body.toString()]), [[0, 128, 'WS'], [0, 128, 'WS'], [0, 43, 'WS'], [1, 2, 'SSE']]);
    assert.deepEqual(sent.slice(0, 3).flatMap((m) => m.connIds), Array.from({ length: 300 }, (_, i) => i + 1).filter((i) => i !== 2));
    assert.equal(s.stats.pushDeliveries, 301);
  });

  test('a disconnect notice takes the connection out of every room and sends one event, with its watched handshake', () => {
    const s = setup();
    s.join('r1', [`${A}:7`, `${A}:8`]);
    s.join('r2', [`${A}:7`]);
    s.push([[PushTag.WATCH, opPayload({ conn: `${A}:7` }, Buffer.from('HANDSHAKE'))]]);
    s.router.fromMongrel2(0, disconnectNotice(7, A));
    s.router.fromMongrel2(0, disconnectNotice(7, A)); // Mongrel2 may repeat one
    assert.deepEqual(s.router.registry.members('r1').map((m) => m.key), [`${A}:8`]);
    assert.deepEqual(s.router.registry.members('r2'), []);
    assert.equal(s.router.registry.rooms, 1);
    assert.deepEqual(s.events.map((e) => [e.tag, e.header['conn'], e.tail.toString()]), [[EventTag.DISCONNECT, `${A}:7`, 'HANDSHAKE']]);
    assert.equal(s.stats.disconnectEvents.get('duplicate'), 1);
  });

  test("a client's close frame seen first: the notice's event carries no handshake (the close handler runs once)", () => {
    const s = setup();
    s.join('r', [`${A}:5`]);
    s.push([[PushTag.WATCH, opPayload({ conn: `${A}:5` }, Buffer.from('HS'))], [PushTag.WATCH, opPayload({ conn: `${A}:6` }, Buffer.from('HS6'))]]);
    assert.equal(s.router.registry.watched, 2);
    s.router.fromMongrel2(0, mongrel2Frame({ connId: 5, sender: A, method: 'WEBSOCKET', headers: { FLAGS: '0x88' }, body: '\u0003\u00e8' }));
    s.router.fromMongrel2(0, mongrel2Frame({ connId: 6, sender: A, method: 'WEBSOCKET', headers: { FLAGS: '0x81' }, body: 'x' }));
    assert.equal(s.router.registry.watched, 1);
    s.router.fromMongrel2(0, disconnectNotice(5, A));
    s.router.fromMongrel2(0, disconnectNotice(6, A));
    assert.deepEqual(s.events.map((e) => [e.header['conn'], e.tail.toString()]), [[`${A}:5`, ''], [`${A}:6`, 'HS6']]);
    assert.equal(s.router.registry.watched, 0);
  });

  test('gone (the framework closed it): it leaves, its event carries no handshake (its close handler already ran)', () => {
    const s = setup();
    s.join('r', [`${A}:3`]);
    s.push([[PushTag.WATCH, opPayload({ conn: `${A}:3` }, Buffer.from('HS'))], [PushTag.GONE, opPayload({ conn: `${A}:3` })]]);
    assert.equal(s.router.registry.connections, 0);
    assert.deepEqual(s.events.map((e) => [e.header['conn'], e.tail.length]), [[`${A}:3`, 0]]);
  });

  test('no worker for an event: counted, not lost silently', () => {
    const s = setup();
    s.noWorkers();
    s.router.fromMongrel2(0, disconnectNotice(4, A));
    assert.equal(s.stats.disconnectEvents.get('no-worker'), 1);
  });

  test('a parked poll is answered once by the next broadcast, then closed; another one times out', async () => {
    const s = setup();
    s.join('p', [`${A}:10`], 'poll', { timeoutMs: 500 }, Buffer.from('TIMEOUT'));
    s.join('p', [`${A}:11`], 'websocket');
    const bodies = [Buffer.from('WS'), Buffer.alloc(0), Buffer.alloc(0), Buffer.from('HTTP 200')];
    s.push([[PushTag.BROADCAST, opPayload({ room: 'p', lens: bodies.map((b) => b.length) }, Buffer.concat(bodies))]]);
    s.push([[PushTag.BROADCAST, opPayload({ room: 'p', lens: bodies.map((b) => b.length) }, Buffer.concat(bodies))]]);
    await turn();
    const sent = s.posted.map(([, f]) => parseReply(f)).map((m) => `${m.connIds.join(',')}:${m.body.toString()}`);
    assert.deepEqual(sent, ['10:HTTP 200', '10:', '11:WSWS'], 'the poll answered once and closed; the two frames to 11 merged');
    s.join('p', [`${A}:12`], 'poll', { timeoutMs: 500 }, Buffer.from('TIMEOUT'));
    s.advance(499);
    s.router.sweep();
    s.advance(1);
    s.router.sweep();
    await turn();
    assert.deepEqual(s.posted.slice(3).map(([, f]) => parseReply(f)).map((m) => `${m.connIds.join(',')}:${m.body.toString()}`), ['12:TIMEOUT', '12:']);
    assert.equal(s.router.registry.get(`${A}:12`), undefined);
    s.push([[PushTag.ANSWER, opPayload({ conn: `${A}:12` }, Buffer.from('late'))]]);
    assert.equal(s.stats.pushRejected.get('not-parked'), 1);
  });

  test('SSE heartbeats every heartbeatMs, grouped per server', async () => {
    const s = setup();
    s.join(null, [`${A}:20`, `${A}:21`], 'sse', { heartbeatMs: 1000 });
    s.router.sweep();
    s.advance(1000);
    s.router.sweep();
    await turn();
    assert.deepEqual(s.posted.map(([, f]) => parseReply(f)).map((m) => [m.connIds, m.body.toString()]), [[[20, 21], ':\n\n']]);
    assert.equal(s.stats.pushMessages.get('heartbeat'), 1);
  });

  test('consecutive pushes to the same connections merge; anything between keeps them apart; closes never merge', async () => {
    const s = setup();
    for (let i = 0; i < 50; i++) s.push([[PushTag.MESSAGE, encodeReply(A, [1], `m${i},`)[0]!]]);
    s.push([[PushTag.MESSAGE, encodeReply(A, [2], 'other')[0]!], [PushTag.MESSAGE, encodeReply(A, [1], 'after')[0]!], [PushTag.MESSAGE, encodeClose(A, [1])[0]!]]);
    await turn();
    const sent = s.posted.map(([, f]) => parseReply(f)).map((m) => `${m.connIds.join(',')}:${m.body.toString()}`);
    assert.deepEqual(sent, [`1:${Array.from({ length: 50 }, (_, i) => `m${i},`).join('')}`, '2:other', '1:after', '1:']);
  });

  test('members answers the asking worker with the question id', () => {
    const s = setup();
    s.join('m', [`${A}:1`, `${B}:2`], 'websocket');
    s.push([[PushTag.MEMBERS, opPayload({ room: 'm' }), 77]]);
    assert.deepEqual(s.events.map((e) => [e.tag, e.id, e.header['members']]), [[EventTag.MEMBERS, 77, [[`${A}:1`, 'websocket'], [`${B}:2`, 'websocket']]]]);
  });

  test('malformed entries are counted and skipped, never fatal', () => {
    const s = setup();
    s.push([[PushTag.JOIN, Buffer.from('not json\n')], [PushTag.BROADCAST, opPayload({ room: 'r', lens: [99, 0, 0, 0] })], [PushTag.MESSAGE, Buffer.from('garbage')], [0x7a, opPayload({})]]);
    assert.equal(s.stats.pushRejected.get('malformed'), 4);
  });
});
