/**
 * Fake Mongrel2 servers: real ZeroMQ PUSH (requests) and SUB (replies) sockets bound on ipc in a temp dir, the
 * way Mongrel2 binds its handler sockets, so that anything can be written straight to a worker
 * (`startFakeMongrel2`), and the link-suite peers built on them: a direct transport connected to them, or an
 * in-process dispatcher connected to them with a dispatch transport connected to it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Push, XSubscriber } from 'zeromq';
import { Dispatcher } from '../../src/dispatch/dispatcher';
import { createTransport } from '../../src/transport/create-transport';
import type { Transport } from '../../src/transport/transport';
import type { LinkPeer } from '../unit/transport/link.case';
import type { TestProcess } from './processes';
import { waitFor } from './wait-for';

/** A bound PUSH/SUB pair; `workerArgs` points a worker at it. */
export interface FakeMongrel2 {
  readonly dir: string;
  readonly push: Push;
  readonly sub: XSubscriber;
  /** `--send-spec`/`--recv-spec` for a worker. */
  readonly workerArgs: readonly string[];
  /** Resolves once `worker` logged worker.ready (subscribing until it does). */
  awaitReady(worker: TestProcess): Promise<void>;
  /** Close both sockets and remove the temp dir. Idempotent. */
  close(): Promise<void>;
}

/** Bind a fake Mongrel2 in a fresh temp dir; register `close` with `t.after`. */
export async function startFakeMongrel2(): Promise<FakeMongrel2> {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-fake-'));
  const push = new Push({ linger: 0 });
  const sub = new XSubscriber({ linger: 0 });
  await push.bind(`ipc://${dir}/req`);
  await sub.bind(`ipc://${dir}/rep`);
  let closed = false;
  return {
    dir,
    push,
    sub,
    workerArgs: ['--send-spec', `ipc://${dir}/req`, '--recv-spec', `ipc://${dir}/rep`],
    async awaitReady(worker) {
      // NOTE: a zeromq.js 6.8 (libzmq 4.3.5) SUB bound before the peer connects does not replay its subscription
      // to it (Mongrel2's libzmq 4.3.4 SUB does), so the fake subscribes explicitly until the worker sees it.
      // Duplicate subscriptions are invisible to the worker's XPUB.
      await waitFor(async () => {
        await sub.send(Buffer.from([1]));
        return worker.logs.some((l) => l['msg'] === 'worker.ready');
      }, { what: 'worker ready on the fake Mongrel2' });
    },
    async close() {
      if (closed) return;
      closed = true;
      push.close();
      sub.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Running fake Mongrel2 servers. */
export interface FakeMongrel2Servers {
  readonly dir: string;
  readonly sendSpecs: readonly string[];
  readonly recvSpecs: readonly string[];
  inject(frame: Buffer, server: number): Promise<void>;
  nextReply(server: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** Bind `servers` fake Mongrel2 servers. */
export async function startFakeMongrel2Servers(servers: number): Promise<FakeMongrel2Servers> {
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
  return {
    dir,
    sendSpecs,
    recvSpecs,
    inject: (frame, server) => (pushes[server] as Push).send(frame),
    nextReply: async (server) => {
      const [frame] = await (subs[server] as XSubscriber).receive();
      return frame as Buffer;
    },
    close: async () => {
      for (const s of [...pushes, ...subs]) s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `servers` fake Mongrel2 servers with a started direct transport connected to all of them. */
export async function fakeMongrel2Peer(servers: number): Promise<LinkPeer> {
  const m2 = await startFakeMongrel2Servers(servers);
  const transport = createTransport({ topology: 'direct', sendSpecs: m2.sendSpecs, recvSpecs: m2.recvSpecs, receiveHighWaterMark: 16, sendTimeoutMs: 1_000 });
  return startedPeer(m2, transport, async () => undefined);
}

/** Start `transport` and wrap it with the fake servers as a link-suite peer; `stopMiddle` runs between the two. */
async function startedPeer(m2: FakeMongrel2Servers, transport: Transport, stopMiddle: () => Promise<void>): Promise<LinkPeer> {
  await transport.start(5_000);
  return {
    transport,
    inject: m2.inject,
    nextReply: m2.nextReply,
    stop: async () => {
      await transport.close(0);
      await stopMiddle();
      await m2.close();
    },
  };
}

/** `servers` fake Mongrel2 servers, a dispatcher in this process connected to them, and a started dispatch transport. */
export async function fakeDispatcherPeer(servers: number, limits: { readonly maxMessageBytes?: number } = {}): Promise<LinkPeer> {
  const m2 = await startFakeMongrel2Servers(servers);
  const dispatcher = new Dispatcher({
    sendSpecs: m2.sendSpecs,
    recvSpecs: m2.recvSpecs,
    bind: `ipc://${m2.dir}/dispatch.sock`,
    receiveHwm: 100,
    queueLimit: 100,
    backlogLimit: 400,
    queueTimeoutMs: 5_000,
    maxWorkerCredit: 1_024,
    requestTimeoutMs: 60_000,
    heartbeatIntervalMs: 200,
    heartbeatTimeoutMs: 2_000,
    sendTimeoutMs: 1_000,
    retryAfterSeconds: 1,
    logger: pino({ level: 'silent' }),
    ...limits,
  });
  await dispatcher.start();
  const transport = createTransport({ topology: 'dispatch', endpoint: `ipc://${m2.dir}/dispatch.sock`, capacity: 16, sendTimeoutMs: 1_000 });
  return startedPeer(m2, transport, () => dispatcher.stop(0, 0));
}
