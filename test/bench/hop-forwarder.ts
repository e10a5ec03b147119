/**
 * The floor of a dispatcher hop on zeromq.js (bench only): the thinnest forwarder that speaks the dispatcher's
 * worker protocol (docs/dispatch-protocol.md), so that an unmodified `m2pool worker --dispatcher` sits behind it.
 * PULL from Mongrel2 → ROUTER to workers within their credit (one batch per worker per event-loop turn) → replies
 * from the workers' batches to Mongrel2 through an XPUB. No bookkeeping: no request table, no affinity, no retries,
 * no timeouts, no metrics; disconnect notices are dropped (it holds nothing a notice could concern); a request that
 * finds no free credit waits in a plain FIFO. What the real dispatcher costs above this is what its guarantees and
 * its code cost; what this costs is zeromq.js's price of a hop. hop-forwarder.c is the same in C against libzmq.
 * Prints `hop.ready` once Mongrel2 subscribed and the worker endpoint is bound.
 * Usage: node hop-forwarder.js <send_spec> <recv_spec> <bind>
 */
import { Pull, Router, XPublisher } from 'zeromq';
import { BatchWriter, Command, commandFrame, intField, jsonFrame, parseJsonFrame, readBatch, Tag, toDispatcherHasPayload, WIRE_VERSION } from '../../src/protocol/dispatch-wire';

const [sendSpec, recvSpec, bind] = process.argv.slice(2);
if (sendSpec === undefined || recvSpec === undefined || bind === undefined) {
  process.stderr.write('usage: hop-forwarder <send_spec> <recv_spec> <bind>\n');
  process.exit(2);
}

interface Peer {
  readonly address: Buffer;
  free: number;
  readonly writer: BatchWriter;
}

const pull = new Pull({ receiveHighWaterMark: 100 });
const pub = new XPublisher({ sendHighWaterMark: 0 });
const router = new Router({ sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
const peers = new Map<string, Peer>();
const waiting: Buffer[] = [];
const dirty: Peer[] = [];
let flushScheduled = false;
let nextId = 1;
/** Resumes the Mongrel2 read loop once some worker has credit again. */
let wake: (() => void) | undefined;

/** One writer per socket: zeromq.js allows one pending send at a time. */
function sender(send: (m: Buffer | Buffer[]) => Promise<void>): (m: Buffer | Buffer[]) => void {
  const queue: Array<Buffer | Buffer[]> = [];
  let busy = false;
  const drain = async (): Promise<void> => {
    busy = true;
    for (let m = queue.shift(); m !== undefined; m = queue.shift()) await send(m);
    busy = false;
  };
  return (m) => {
    queue.push(m);
    if (!busy) void drain();
  };
}
const toMongrel2 = sender((m) => pub.send(m));
const toWorkers = sender((m) => router.send(m));

function mostFree(): Peer | undefined {
  let best: Peer | undefined;
  for (const p of peers.values()) if (p.free > 0 && (best === undefined || p.free > best.free)) best = p;
  return best;
}

function flush(): void {
  flushScheduled = false;
  for (const p of dirty) toWorkers([p.address, ...p.writer.take()]);
  dirty.length = 0;
}

function give(peer: Peer, frame: Buffer): void {
  peer.free -= 1;
  if (peer.writer.entries === 0) dirty.push(peer);
  peer.writer.add(Tag.REQUEST, nextId, 0, frame);
  nextId = (nextId + 1) >>> 0;
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function isNotice(frame: Buffer): boolean {
  const sp1 = frame.indexOf(0x20);
  const sp2 = sp1 < 0 ? -1 : frame.indexOf(0x20, sp1 + 1);
  return sp2 > 0 && frame[sp2 + 1] === 0x40;
}

async function readMongrel2(): Promise<void> {
  for (;;) {
    if (mostFree() === undefined) await new Promise<void>((resolve) => (wake = resolve));
    const [frame] = await pull.receive();
    if (frame === undefined || isNotice(frame)) continue;
    const peer = mostFree();
    if (peer === undefined) waiting.push(frame);
    else give(peer, frame);
  }
}

function creditBack(peer: Peer): void {
  peer.free += 1;
  const next = waiting.shift();
  if (next !== undefined) give(peer, next);
  if (wake !== undefined) {
    const w = wake;
    wake = undefined;
    w();
  }
}

async function readWorkers(): Promise<void> {
  const instance = Math.random().toString(16).slice(2);
  for (;;) {
    const frames = await router.receive();
    const address = frames[0];
    const command = frames[1]?.[0];
    if (address === undefined || command === undefined) continue;
    const key = address.toString('latin1');
    if (command === Command.HELLO) {
      const capacity = intField(parseJsonFrame(frames[2]) ?? {}, 'capacity', 1);
      toWorkers([address, commandFrame(Command.WELCOME), jsonFrame({ v: WIRE_VERSION, servers: 1, ready: true, heartbeatMs: 1_000, instance })]);
      peers.set(key, { address, free: capacity, writer: new BatchWriter() });
      for (let i = 0; i < capacity; i++) {
        const next = waiting.shift();
        if (next === undefined) break;
        give(peers.get(key)!, next);
      }
      wake?.();
      wake = undefined;
    } else if (command === Command.BATCH) {
      const peer = peers.get(key);
      if (peer === undefined) continue;
      readBatch(frames, 1, toDispatcherHasPayload, (tag, _id, _server, payload) => {
        if (tag === Tag.REPLY && payload !== undefined) toMongrel2(payload);
        else if (tag === Tag.DONE) creditBack(peer);
      });
    } else if (command === Command.LEAVE) {
      const peer = peers.get(key);
      if (peer !== undefined) peer.free = -1e9;
      toWorkers([address, commandFrame(Command.LEFT)]);
    }
  }
}

async function main(): Promise<void> {
  const connected = new Promise<void>((resolve) => pull.events.on('handshake', () => resolve()));
  pull.connect(sendSpec!);
  pub.connect(recvSpec!);
  const [subscription] = await pub.receive(); // Mongrel2's SUB: 0x01 + recv_ident; not read again (see mongrel2-link.ts)
  await connected;
  await router.bind(bind!);
  if (subscription?.[0] === 1) process.stdout.write('hop.ready\n');
  void readWorkers();
  await readMongrel2();
}

process.on('SIGTERM', () => process.exit(0));
void main();
