/** The dispatcher's side of a hand-over after its predecessor crashed (docs/dispatch-protocol.md, "Dispatcher crash"). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HandoverDesk } from '../../../src/dispatch/handover-desk';
import { DispatcherStats } from '../../../src/dispatch/stats';
import { BatchWriter, Command, Tag } from '../../../src/transport/dispatch-wire';

const SENDER = '6a3f9c3e-5a53-4d4b-9d1e-3c2b9a7d1f00';
const reply = (conn: number, body: string): Buffer => Buffer.from(`${SENDER} ${String(conn).length}:${conn}, ${body}`);

function desk(): { desk: HandoverDesk; forwarded: string[]; closed: string[]; touched: string[]; stats: DispatcherStats } {
  const forwarded: string[] = [];
  const closed: string[] = [];
  const touched: string[] = [];
  const stats = new DispatcherStats();
  const d = new HandoverDesk(
    {
      servers: 1,
      forward: (server, frame) => forwarded.push(`${server}:${frame.toString()}`),
      close: (server, connection, action) => closed.push(`${server}:${connection}:${action}`),
      touched: (server, connection) => touched.push(`${server}:${connection}`),
    },
    stats,
  );
  return { desk: d, forwarded, closed, touched, stats };
}

function message(command: number, entries: Array<[number, number, number, Buffer?]>): Buffer[] {
  const w = new BatchWriter();
  for (const [tag, id, server, payload] of entries) w.add(tag, id, server, payload);
  return w.take(command);
}

test('HANDOVER: replies are forwarded as they are, holds recorded, a lost holder answers its clients', () => {
  const d = desk();
  const problem = d.desk.accept('w1', message(Command.HANDOVER, [
    [Tag.HELD, 7, 0, Buffer.from(`${SENDER} 41`)],
    [Tag.HELD, 8, 0, Buffer.from(`${SENDER} 42`)],
    [Tag.REPLY, 5, 0, reply(40, 'HTTP/1.1 200 OK\r\n\r\n')],
    [Tag.REPLY, 8, 0, reply(42, 'HTTP/1.1 200 OK\r\n\r\npart')],
  ]));
  assert.equal(problem, undefined);
  assert.deepEqual(d.forwarded, [`0:${reply(40, 'HTTP/1.1 200 OK\r\n\r\n').toString()}`, `0:${reply(42, 'HTTP/1.1 200 OK\r\n\r\npart').toString()}`]);
  assert.deepEqual(d.touched, [`0:${SENDER} 41`, `0:${SENDER} 42`, `0:${SENDER} 40`, `0:${SENDER} 42`]);
  assert.equal(d.desk.held, 2);
  d.desk.workerLost('w1');
  // 41 had no reply yet: 503 + close; 42 had started: close only.
  assert.deepEqual(d.closed.sort(), [`0:${SENDER} 41:error`, `0:${SENDER} 42:close`]);
  assert.equal(d.desk.held, 0);
  assert.equal(d.stats.recovery.get('holder-lost'), 2);
});

test('HANDOVER: ENDED releases a hold, CUT closes its connection, garbage is refused and counted', () => {
  const d = desk();
  d.desk.accept('w1', message(Command.HANDOVER, [
    [Tag.HELD, 7, 0, Buffer.from(`${SENDER} 41`)],
    [Tag.ENDED, 7, 0],
    [Tag.CUT, 9, 0, Buffer.from(`${SENDER} 43`)],
    [Tag.REPLY, 10, 0, Buffer.from('not a mongrel2 reply')],
    [Tag.REPLY, 11, 3, reply(44, 'x')],
  ]));
  assert.equal(d.desk.held, 0);
  assert.deepEqual(d.closed, [`0:${SENDER} 43:close`]);
  assert.deepEqual(d.forwarded, []);
  assert.equal(d.stats.recovery.get('refused'), 2);
  d.desk.workerLost('w1');
  assert.deepEqual(d.closed, [`0:${SENDER} 43:close`], 'nothing more: the hold had ended');
});

test('leftover batches of a new connection are taken over only if its HELLO names a vanished predecessor', () => {
  const d = desk();
  const batch = message(Command.BATCH, [
    [Tag.REPLY, 1, 0, reply(50, 'HTTP/1.1 200 OK\r\n\r\nwhole')],
    [Tag.DONE, 1, 0],
    [Tag.REPLY, 2, 0, reply(51, 'the rest of a reply whose start went to the dead dispatcher')],
  ]);
  assert.equal(d.desk.offerLeftover('new', batch, 0), true);
  assert.equal(d.desk.helloFrom('new', true), 0);
  assert.deepEqual(d.forwarded, [`0:${reply(50, 'HTTP/1.1 200 OK\r\n\r\nwhole').toString()}`]);
  assert.deepEqual(d.closed, [`0:${SENDER} 51:close`]);

  const other = desk();
  other.desk.offerLeftover('resumed', batch, 0);
  assert.equal(other.desk.helloFrom('resumed', false), 2, 'no vanished predecessor: both replies dropped (counted late by the caller)');
  assert.deepEqual([other.forwarded, other.closed], [[], []]);
});

test('leftovers are bounded: too many connections, or no HELLO within 5 s', () => {
  const d = desk();
  const batch = message(Command.BATCH, [[Tag.REPLY, 1, 0, reply(50, 'HTTP/1.1 200 OK\r\n\r\n')]]);
  for (let i = 0; i < 64; i++) assert.equal(d.desk.offerLeftover(`c${i}`, batch, 0), true);
  assert.equal(d.desk.offerLeftover('one-too-many', batch, 0), false);
  assert.equal(d.desk.offerLeftover('later', batch, 6_000), true, 'the stale ones were dropped');
  assert.equal(d.desk.helloFrom('c0', true), 0);
  assert.deepEqual(d.forwarded, [], 'c0 was dropped for age');
});
