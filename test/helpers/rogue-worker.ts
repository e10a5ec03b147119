/**
 * A peer that registers with a real dispatcher like a worker (a real ZeroMQ DEALER speaking the wire of
 * `src/protocol/dispatch-wire.ts`) and then does what the test tells it: claim any capacity, hold requests, keep
 * heartbeating without answering, reply to any connection. For tests of what the dispatcher lets a worker do.
 */
import { Dealer } from 'zeromq';
import { BatchWriter, Command, commandFrame, intField, jsonFrame, parseJsonFrame, readBatch, Tag, toWorkerHasPayload, WIRE_VERSION } from '../../src/protocol/dispatch-wire';
import { waitFor } from './wait-for';

/** A request the dispatcher handed to the rogue peer. */
export interface RogueRequest {
  readonly id: number;
  readonly server: number;
  /** The Mongrel2 message. */
  readonly frame: Buffer;
  /** Mongrel2's sender UUID and connection id, read from the frame. */
  readonly sender: string;
  readonly connId: number;
}

/** A connected, registered rogue peer. */
export interface RoguePeer {
  /** Every request received so far, in order. */
  readonly requests: RogueRequest[];
  /** Send one batch of `[tag, id, server, payload?]` entries. */
  send(entries: ReadonlyArray<readonly [number, number, number, Buffer?]>): Promise<void>;
  /** Wait until `n` requests arrived. */
  waitRequests(n: number, timeoutMs?: number): Promise<void>;
  /** Stop pinging and close the socket (the dispatcher sees it disconnect). */
  close(): void;
}

/** Connect to `endpoint`, say HELLO with `capacity`, wait for WELCOME, then PING at the interval it asks for. */
export async function connectRogue(endpoint: string, capacity: number): Promise<RoguePeer> {
  const dealer = new Dealer({ linger: 0 });
  dealer.connect(endpoint);
  const requests: RogueRequest[] = [];
  let welcomed: ((heartbeatMs: number) => void) | undefined;
  const welcome = new Promise<number>((resolve) => (welcomed = resolve));
  let closed = false;
  const pending: Buffer[][] = [];
  let sending: Promise<void> = Promise.resolve();
  const enqueue = (frames: Buffer[]): Promise<void> => {
    pending.push(frames);
    sending = sending.then(async () => {
      const next = pending.shift();
      if (next !== undefined && !closed) await dealer.send(next);
    });
    return sending;
  };
  void (async () => {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await dealer.receive();
      } catch {
        return; // closed
      }
      const command = frames[0]?.[0];
      if (command === Command.WELCOME) welcomed?.(intField(parseJsonFrame(frames[1]) ?? {}, 'heartbeatMs', 1_000));
      else if (command === Command.BATCH) {
        readBatch(frames, 0, toWorkerHasPayload, (tag, id, server, payload) => {
          if (tag !== Tag.REQUEST || payload === undefined) return;
          const text = payload.toString('latin1', 0, 64);
          const [sender = '', conn = ''] = text.split(' ');
          requests.push({ id, server, frame: payload, sender, connId: Number(conn) });
        });
      }
    }
  })();
  await enqueue([commandFrame(Command.HELLO), jsonFrame({ v: WIRE_VERSION, capacity, inFlight: 0, pid: process.pid })]);
  const heartbeatMs = await welcome;
  const ping = setInterval(() => void enqueue([commandFrame(Command.PING), jsonFrame({ inFlight: requests.length })]).catch(() => undefined), heartbeatMs);
  return {
    requests,
    send: (entries) => {
      const writer = new BatchWriter();
      for (const [tag, id, server, payload] of entries) writer.add(tag, id, server, payload);
      return enqueue(writer.take());
    },
    waitRequests: (n, timeoutMs = 10_000) => waitFor(() => requests.length >= n, { timeoutMs, what: `${n} requests at the rogue peer (got ${requests.length})` }).then(() => undefined),
    close: () => {
      closed = true;
      clearInterval(ping);
      dealer.close();
    },
  };
}
