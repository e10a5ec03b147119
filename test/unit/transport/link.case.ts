/**
 * One behavioural spec for every transport (hono's `common.case.test.ts` pattern): each implementation has an
 * eight-line test file that hands this suite a factory for its peer. The peer is whatever sits on the other
 * side of the worker: fake Mongrel2 sockets for the direct link, a dispatcher (with fake Mongrel2 sockets
 * behind it) for the dispatch link.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Delivery, Link, Transport } from '../../../src/transport/transport';
import { encodeReply } from '../../../src/protocol/reply-writer';
import { mongrel2Frame, TEST_SENDER } from '../../helpers/mongrel2-frames';

/** The other side of a transport under test, with `servers` Mongrel2 servers behind it. */
export interface LinkPeer {
  /** The transport under test, already started (ready). */
  readonly transport: Transport;
  /** Send a message from Mongrel2 server `server` towards the worker. */
  inject(frame: Buffer, server: number): Promise<void>;
  /** The next reply frame Mongrel2 server `server` receives. */
  nextReply(server: number): Promise<Buffer>;
  /** Close the transport and everything the peer started. */
  stop(): Promise<void>;
}

/** Builds a peer with this many Mongrel2 servers. */
export type PeerFactory = (servers: number) => Promise<LinkPeer>;

/**
 * Deliveries from any link of a transport, keeping at most one pending `receive()` per link (a link allows
 * only one at a time).
 */
class Deliveries {
  readonly #pending = new Map<Link, Promise<{ link: Link; delivery: Delivery | null }>>();
  constructor(private readonly transport: Transport) {}

  async next(): Promise<Delivery> {
    for (;;) {
      for (const link of this.transport.links) {
        if (!this.#pending.has(link)) this.#pending.set(link, link.receive().then((delivery) => ({ link, delivery })));
      }
      const { link, delivery } = await Promise.race(this.#pending.values());
      this.#pending.delete(link);
      if (delivery !== null) return delivery;
    }
  }
}

/** Run the shared link suite against one implementation. */
export function linkSuite(name: string, makePeer: PeerFactory): void {
  test(`${name}: a delivery carries the message byte for byte with its server, and the reply goes back there`, { timeout: 15_000 }, async (t) => {
    const peer = await makePeer(2);
    t.after(() => peer.stop());
    const deliveries = new Deliveries(peer.transport);
    for (const server of [0, 1]) {
      const frame = mongrel2Frame({ connId: 10 + server, path: `/from/${server}`, body: 'payload' });
      await peer.inject(frame, server);
      const delivery = await deliveries.next();
      assert.deepEqual(delivery.frame, frame);
      assert.equal(delivery.server, server);
      const [reply] = encodeReply(TEST_SENDER, [10 + server], Buffer.from(`reply ${server}`)) as [Buffer];
      await delivery.send(reply);
      delivery.done();
      assert.deepEqual(await peer.nextReply(server), reply);
    }
  });

  test(`${name}: started means every link is ready and counted`, { timeout: 15_000 }, async (t) => {
    const peer = await makePeer(1);
    t.after(() => peer.stop());
    assert.equal(peer.transport.connectedCount(), peer.transport.links.length);
    assert.ok(peer.transport.links.every((l) => l.ready));
  });

  test(`${name}: after stopReceiving a receive ends with null`, { timeout: 15_000 }, async (t) => {
    const peer = await makePeer(1);
    t.after(() => peer.stop());
    for (const link of peer.transport.links) {
      link.stopReceiving();
      // Whatever was already granted may still come; after that, null.
      let next = await link.receive();
      while (next !== null) {
        next.done();
        next = await link.receive();
      }
      assert.equal(next, null);
    }
  });

  test(`${name}: close is idempotent and a send after it rejects`, { timeout: 15_000 }, async (t) => {
    const peer = await makePeer(1);
    t.after(() => peer.stop());
    await peer.inject(mongrel2Frame({ connId: 1, path: '/x' }), 0);
    const delivery = await new Deliveries(peer.transport).next();
    await peer.transport.close(100);
    await peer.transport.close(100);
    await assert.rejects(delivery.send((encodeReply(TEST_SENDER, [1], Buffer.from('late')) as [Buffer])[0]));
  });
}
