/**
 * The transport side of `app.push`: how a worker hands pushes to Mongrel2 and reaches the room hub.
 *
 * - Direct topology ({@link DirectPushChannel}): each Mongrel2 message goes to the link of the Mongrel2 whose UUID
 *   it names. A worker learns which link serves which UUID from the messages it receives (the SENDER of every
 *   request, docs/mongrel2.md §2.1); with one link there is nothing to learn. No hub: rooms need one process that
 *   sees every connection and every disconnect notice, which only the dispatcher is.
 * - Dispatch topology ({@link HubChannel}): messages and room operations go to the dispatcher as PUSH entries
 *   (`push-wire.ts`), in call order and in order with the worker's replies; disconnect events and room answers
 *   come back as EVENTS entries.
 * @module
 */
import { ErrorCode, M2PoolError } from '../errors';
import { CONN_KINDS, connKindOf, EventTag, opPayload, PushTag, readOp, type ConnKind } from '../protocol/push-wire';

/** A disconnect event from the transport: the connection, and a WebSocket's handshake message when it was watched. */
export interface DisconnectEvent {
  readonly conn: string;
  readonly handshake: Buffer | undefined;
}

/** Options of a hub `join` (see `JoinHeader`). */
export interface HubJoin {
  readonly heartbeatMs?: number;
  readonly timeoutMs?: number;
  readonly timeoutReply?: Buffer;
}

/** Per-kind bodies of a broadcast. */
export type HubBodies = Partial<Record<ConnKind, Buffer>>;

/** The room hub's operations, as a worker sends them. */
export interface PushHub {
  join(room: string | null, conns: readonly string[], kind: ConnKind, options: HubJoin): Promise<void>;
  leave(room: string | null, conns: readonly string[]): Promise<void>;
  broadcast(room: string, bodies: HubBodies, except: string | undefined): Promise<void>;
  answer(conn: string, reply: Buffer): Promise<void>;
  members(room: string): Promise<ReadonlyArray<readonly [string, ConnKind]>>;
  gone(conn: string): void;
}

/** What a transport offers for pushes: `app.push`'s transport, plus the runtime's own hooks. */
export interface PushChannel {
  /** Hand Mongrel2 messages (≤ 128 ids of one UUID each) over, in order, to the Mongrel2 each names. */
  messages(frames: readonly Buffer[]): Promise<void>;
  /** The room hub, or undefined (direct topology). */
  readonly hub: PushHub | undefined;
  /** The runtime saw a message of `uuid` on link `server`. */
  learn(uuid: string, server: number): void;
  /** A WebSocket handshake succeeded: keep its handshake to run its `close` handler if the client drops. */
  watch(conn: string, handshake: Buffer): void;
  /** The framework closed this connection (its rooms and watch go; its disconnect event runs). */
  gone(conn: string): void;
  /** Disconnect events the transport reports (dispatch only; direct events are the runtime's own notices). */
  onDisconnect(listener: (event: DisconnectEvent) => void): void;
  /** Whether {@link onDisconnect} reports events (else the runtime turns its Mongrel2 notices into events). */
  readonly reportsDisconnects: boolean;
}

/** The sender UUID in front of a Mongrel2 reply message (`UUID SP …`), or undefined. */
export function senderOf(frame: Buffer): string | undefined {
  const sp = frame.indexOf(0x20);
  return sp <= 0 || sp > 200 ? undefined : frame.toString('latin1', 0, sp);
}

/** One way to send a reply frame to one Mongrel2 (a direct link). */
export interface PushTarget {
  send(frame: Buffer): Promise<void>;
}

/** Direct topology: each message to the link serving its UUID. */
export class DirectPushChannel implements PushChannel {
  readonly hub = undefined;
  readonly reportsDisconnects = false;
  readonly #links: readonly PushTarget[];
  readonly #servers = new Map<string, number>();

  constructor(links: readonly PushTarget[]) {
    this.#links = links;
  }

  learn(uuid: string, server: number): void {
    if (this.#servers.get(uuid) !== server) this.#servers.set(uuid, server);
  }

  messages(frames: readonly Buffer[]): Promise<void> {
    const sends: Promise<void>[] = [];
    for (const frame of frames) {
      const uuid = senderOf(frame);
      const server = uuid === undefined ? undefined : this.#servers.get(uuid);
      const link = server !== undefined ? this.#links[server] : this.#links.length === 1 ? this.#links[0] : undefined;
      if (link === undefined) {
        sends.push(Promise.reject(new M2PoolError(ErrorCode.PUSH_FAILED, `no Mongrel2 known by UUID ${JSON.stringify(uuid ?? '')} (this worker has not had a message from it yet)`)));
        continue;
      }
      sends.push(link.send(frame));
    }
    return Promise.all(sends).then(() => undefined);
  }

  watch(): void {}

  gone(): void {}

  onDisconnect(): void {}
}

/** How a {@link HubChannel} puts an entry on the wire (the dispatcher link's ordered outbox). */
export interface PushOutlet {
  /** Queue one PUSH entry; resolves once its message was handed to the socket. */
  push(tag: number, id: number, payload: Buffer): Promise<void>;
}

/** How long a `members()` question waits for the dispatcher's answer. */
const ASK_TIMEOUT_MS = 5_000;

/** Dispatch topology: pushes and rooms through the dispatcher. */
export class HubChannel implements PushChannel, PushHub {
  readonly reportsDisconnects = true;
  readonly #outlet: PushOutlet;
  readonly #listeners: Array<(event: DisconnectEvent) => void> = [];
  readonly #asks = new Map<number, { resolve: (members: Array<[string, ConnKind]>) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  #nextAsk = 1;

  constructor(outlet: PushOutlet) {
    this.#outlet = outlet;
  }

  get hub(): PushHub {
    return this;
  }

  learn(): void {}

  messages(frames: readonly Buffer[]): Promise<void> {
    let last: Promise<void> = Promise.resolve();
    for (const frame of frames) last = this.#outlet.push(PushTag.MESSAGE, 0, frame);
    return last;
  }

  join(room: string | null, conns: readonly string[], kind: ConnKind, options: HubJoin): Promise<void> {
    const header = { room, conns, kind, ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) };
    return this.#outlet.push(PushTag.JOIN, 0, opPayload(header, options.timeoutReply));
  }

  leave(room: string | null, conns: readonly string[]): Promise<void> {
    return this.#outlet.push(PushTag.LEAVE, 0, opPayload({ room, conns }));
  }

  broadcast(room: string, bodies: HubBodies, except: string | undefined): Promise<void> {
    const parts = CONN_KINDS.map((kind) => bodies[kind] ?? EMPTY);
    const header = { room, lens: parts.map((p) => p.length), ...(except === undefined ? {} : { except }) };
    return this.#outlet.push(PushTag.BROADCAST, 0, opPayload(header, Buffer.concat(parts)));
  }

  answer(conn: string, reply: Buffer): Promise<void> {
    return this.#outlet.push(PushTag.ANSWER, 0, opPayload({ conn }, reply));
  }

  members(room: string): Promise<ReadonlyArray<readonly [string, ConnKind]>> {
    const ask = this.#nextAsk;
    this.#nextAsk = (ask % 0x7fffffff) + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#asks.delete(ask);
        reject(new M2PoolError(ErrorCode.PUSH_FAILED, `the dispatcher did not answer members(${JSON.stringify(room)}) within ${ASK_TIMEOUT_MS} ms`));
      }, ASK_TIMEOUT_MS);
      this.#asks.set(ask, { resolve, reject, timer });
      this.#op(PushTag.MEMBERS, ask, opPayload({ room }));
    });
  }

  watch(conn: string, handshake: Buffer): void {
    this.#op(PushTag.WATCH, 0, opPayload({ conn }, handshake));
  }

  gone(conn: string): void {
    this.#op(PushTag.GONE, 0, opPayload({ conn }));
  }

  onDisconnect(listener: (event: DisconnectEvent) => void): void {
    this.#listeners.push(listener);
  }

  /** One EVENTS entry from the dispatcher. Returns false for one it does not understand (the caller counts it). */
  event(tag: number, id: number, payload: Buffer): boolean {
    const op = readOp(payload);
    if (op === undefined) return false;
    if (tag === EventTag.DISCONNECT) {
      const conn = op.header['conn'];
      if (typeof conn !== 'string') return false;
      const event: DisconnectEvent = { conn, handshake: op.tail.length > 0 ? Buffer.from(op.tail) : undefined };
      for (const listener of this.#listeners) listener(event);
      return true;
    }
    if (tag === EventTag.MEMBERS) {
      const ask = this.#asks.get(id);
      const list = op.header['members'];
      if (ask === undefined || !Array.isArray(list)) return ask === undefined;
      this.#asks.delete(id);
      clearTimeout(ask.timer);
      const members: Array<[string, ConnKind]> = [];
      for (const item of list as unknown[]) {
        if (!Array.isArray(item)) continue;
        const kind = connKindOf(item[1]);
        if (typeof item[0] === 'string' && kind !== undefined) members.push([item[0], kind]);
      }
      ask.resolve(members);
      return true;
    }
    return false;
  }

  /** The link closed: pending questions fail now rather than at their timeout. */
  closed(): void {
    for (const [id, ask] of this.#asks) {
      clearTimeout(ask.timer);
      ask.reject(new M2PoolError(ErrorCode.PUSH_FAILED, 'the dispatcher link closed'));
      this.#asks.delete(id);
    }
  }

  /** The runtime's own operations (watch, members): nobody awaits their hand-over; a dead link fails the question. */
  #op(tag: number, id: number, payload: Buffer): void {
    this.#outlet.push(tag, id, payload).catch(() => undefined);
  }
}

const EMPTY = Buffer.alloc(0);
