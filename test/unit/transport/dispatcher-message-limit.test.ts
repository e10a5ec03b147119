/**
 * A worker keeps its replies below the dispatcher's `--max-message-bytes` (told in WELCOME): replies that would
 * together pass it leave in several batches, and a single reply over it is refused at once (SEND_FAILED) instead
 * of getting the worker disconnected as a rogue peer (issue 18, item 6). In-process dispatcher, real sockets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeReply } from '../../../src/protocol/reply-writer';
import type { Delivery } from '../../../src/transport/transport';
import { fakeDispatcherPeer } from '../../helpers/fake-mongrel2';
import { mongrel2Frame, TEST_SENDER } from '../../helpers/mongrel2-frames';

const LIMIT = 65_536;

test('replies are batched below the dispatcher limit, and one reply over it is refused', { timeout: 15_000 }, async (t) => {
  const peer = await fakeDispatcherPeer(1, { maxMessageBytes: LIMIT });
  t.after(() => peer.stop());
  const [link] = peer.transport.links;
  assert.ok(link !== undefined);
  const deliveries: Delivery[] = [];
  for (let conn = 1; conn <= 4; conn++) await peer.inject(mongrel2Frame({ connId: conn, path: `/r/${conn}` }), 0);
  while (deliveries.length < 4) {
    const d = await link.receive();
    assert.ok(d !== null);
    deliveries.push(d);
  }
  const reply = (conn: number, bytes: number): Buffer => encodeReply(TEST_SENDER, [conn], Buffer.alloc(bytes, 0x61))[0] as Buffer;

  await assert.rejects((deliveries[0] as Delivery).send(reply(1, LIMIT + 1)), /over the dispatcher's --max-message-bytes \(65536\)/);
  // Three replies of 30 KB in one turn: 90 KB in one batch would pass the limit.
  const sends = [2, 3, 4].map((conn) => (deliveries[conn - 1] as Delivery).send(reply(conn, 30_000)));
  await Promise.all(sends);
  const received = [];
  for (let i = 0; i < 3; i++) received.push(await peer.nextReply(0));
  assert.deepEqual(received.map((r) => r.length).sort(), [2, 3, 4].map((c) => reply(c, 30_000).length).sort());
  for (const d of deliveries) d.done();
});
