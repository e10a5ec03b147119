/**
 * Fake Mongrel2 servers made of the sockets Mongrel2 binds (a PUSH for requests, a SUB for replies) on ipc
 * endpoints in a temp dir, and a direct transport connected to them: the peer of the shared link suite.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Push, XSubscriber } from 'zeromq';
import { createTransport } from '../../src/transport/create-transport';
import type { LinkPeer } from '../unit/transport/link.case';

/** `servers` fake Mongrel2 servers with a started direct transport connected to all of them. */
export async function fakeMongrel2Peer(servers: number): Promise<LinkPeer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2pool-fake-m2-'));
  const pushes: Push[] = [];
  const subs: XSubscriber[] = [];
  const sendSpecs: string[] = [];
  const recvSpecs: string[] = [];
  for (let i = 0; i < servers; i++) {
    const push = new Push({ linger: 0 });
    const sub = new XSubscriber({ linger: 0 });
    // NOTE: a zeromq.js 6 SUB bound before its peer connects does not replay its subscription to it (Mongrel2's
    // does), so subscribe once the worker's XPUB finished its handshake (at 'accept' the pipe is not attached yet and the
    // subscription can vanish).
    sub.events.on('handshake', () => void sub.send(Buffer.from([1])).catch(() => undefined));
    sendSpecs.push(`ipc://${dir}/requests-${i}`);
    recvSpecs.push(`ipc://${dir}/replies-${i}`);
    await push.bind(sendSpecs[i] as string);
    await sub.bind(recvSpecs[i] as string);
    pushes.push(push);
    subs.push(sub);
  }
  const transport = createTransport({ topology: 'direct', sendSpecs, recvSpecs, receiveHighWaterMark: 16, sendTimeoutMs: 1_000 });
  await transport.start(5_000);
  return {
    transport,
    inject: (frame, server) => (pushes[server] as Push).send(frame),
    nextReply: async (server) => {
      const [frame] = await (subs[server] as XSubscriber).receive();
      return frame as Buffer;
    },
    stop: async () => {
      await transport.close(0);
      for (const s of [...pushes, ...subs]) s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
