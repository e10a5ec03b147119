/**
 * The dispatcher's side of `app.push` (docs/dispatch-protocol.md "Pushes and rooms"): PUSH commands
 * from workers — Mongrel2 messages forwarded to the server their UUID names, and room operations on the
 * {@link Registry} — and, from what Mongrel2 sends, which UUID lives on which server and which connections went
 * away. A push never goes through the scheduler's reply check (a reply must answer a request its worker holds;
 * a push may address any connection), and a reply is never taken for a push.
 *
 * Disconnect events: for each connection that goes away (a Mongrel2 notice, or a worker saying the framework
 * closed it) exactly one event goes to one worker, carrying the handshake of a watched WebSocket. Mongrel2 can
 * report one close twice (docs/mongrel2.md §3.1) and answers pushes to a gone id with a notice: connection ids
 * are never reused while Mongrel2 runs, so a bounded memory of recent departures drops the repeats.
 * @module
 */
import type { Logger } from 'pino';
import { encodeReply, encodeClose, parseReply } from '../protocol/reply-writer';
import { BatchWriter, readBatch } from '../protocol/dispatch-wire';
import { alwaysPayload, CONN_KINDS, connKindOf, EVENTS_COMMAND, EventTag, opPayload, PushTag, readOp, type ConnKind } from '../protocol/push-wire';
import { headersRange, isDisconnectNotice } from '../protocol/frame-peek';
import { Registry, type Member, type MemberGroup } from './rooms';
import type { DispatcherStats, PushMessageKind, PushOp, PushRejectReason } from './stats';

/** What the router asks the dispatcher to do. */
export interface PushRouterEffects {
  /** Hand a message to Mongrel2 server `server` (never dropped silently: failures are counted there). */
  post(server: number, frame: Buffer): void;
  /** Send an EVENTS message to one live worker; false when there is none. */
  toAnyWorker(frames: Buffer[]): boolean;
  /**
   * Give one EVENTS entry to one live worker (it joins that worker's EVENTS of this turn); false when there is
   * none. Optional: without it each event is an EVENTS message of its own, through {@link toAnyWorker}.
   */
  eventToAnyWorker?(tag: number, id: number, payload: Buffer): boolean;
  /** Send an EVENTS message to the worker at `address` (the answer to its question). */
  toWorker(address: Buffer, frames: Buffer[]): void;
}

/** Departures remembered to drop repeated notices (ids are never reused while a Mongrel2 runs). */
const RECENT_DEPARTURES = 10_000;
/** A comment line: what an SSE heartbeat sends. */
const HEARTBEAT = Buffer.from(':\n\n');
const CONN_RE = /^([A-Za-z0-9-]+):(\d{1,10})$/;
/** A WebSocket close frame's FLAGS header (docs/mongrel2.md §3.3), tnetstring and JSON headers. */
const CLOSE_FLAGS_TNET = Buffer.from('5:FLAGS,4:0x88,');
const CLOSE_FLAGS_JSON = Buffer.from('"FLAGS":"0x88"');
/** Largest body consecutive pushes to the same connections are merged into (see `#emit`). */
const MERGE_LIMIT = 256 * 1024;

/** A push message held until the end of the turn, so that the next one to the same connections can join it. */
interface Held {
  /** `UUID SP LEN ":" IDS "," SP`. */
  readonly head: Buffer;
  readonly bodies: Buffer[];
  bytes: number;
}

/** Gap after a push message to some connections before the next one to the same connections leaves, in ms. */
const PACE_MIN_MS = 2;
/** Largest gap, reached by doubling while pushes to the same connections keep coming. */
const PACE_MAX_MS = 32;

/** The last push message a server was given: while pushes to the same connections keep coming, they wait and merge. */
interface Pace {
  readonly head: Buffer;
  sentAt: number;
  intervalMs: number;
  timer: NodeJS.Timeout | undefined;
}

/** Pushes, rooms and disconnect events of one dispatcher. */
export class PushRouter {
  readonly registry = new Registry();
  readonly #effects: PushRouterEffects;
  readonly #stats: DispatcherStats;
  readonly #log: Logger;
  readonly #now: () => number;
  /** Mongrel2 UUID → server index, learned from every message Mongrel2 sends. */
  readonly #servers = new Map<string, number>();
  /** Per server: the last sender seen (`UUID SP`), so learning costs one byte compare per message. */
  readonly #lastSender: Array<Buffer | undefined> = [];
  readonly #departed = new Set<string>();
  /** Per server: the last push message, while more to the same connections may follow in this turn. */
  readonly #held: Array<Held | undefined> = [];
  /** Per server: the pace of the last push message flushed (see `#emit`). */
  readonly #paces: Array<Pace | undefined> = [];
  #flushScheduled = false;
  readonly #flushAll = (): void => {
    this.#flushScheduled = false;
    for (let server = 0; server < this.#held.length; server++) this.flush(server);
  };

  constructor(effects: PushRouterEffects, stats: DispatcherStats, log: Logger, now: () => number) {
    this.#effects = effects;
    this.#stats = stats;
    this.#log = log;
    this.#now = now;
  }

  /** The server index of Mongrel2 `uuid`, once a message from it was seen. */
  serverOf(uuid: string): number | undefined {
    return this.#servers.get(uuid);
  }

  /**
   * Every message from Mongrel2 passes here before the scheduler: learn its UUID's server, and turn a disconnect
   * notice into the connection's departure (it leaves every room; one worker gets the event).
   */
  fromMongrel2(server: number, frame: Buffer): void {
    // One scan for the two spaces of `UUID SP ID SP`: used by the sender check, the close scan and the notice check.
    const sp1 = frame.indexOf(0x20);
    const last = this.#lastSender[server];
    if (last === undefined || !startsWith(frame, last)) {
      if (sp1 > 0 && sp1 <= 200) {
        this.#lastSender[server] = Buffer.from(frame.subarray(0, sp1 + 1));
        this.#servers.set(frame.toString('latin1', 0, sp1), server);
      }
    }
    const sp2 = sp1 < 0 ? -1 : frame.indexOf(0x20, sp1 + 1);
    if (sp2 < 0) return;
    // A notice's path is `@*`: checked before anything is copied.
    if (frame[sp2 + 1] !== 0x40 || frame[sp2 + 2] !== 0x2a) {
      if (this.registry.watched > 0) this.#closeFrame(frame, sp1, sp2);
      return;
    }
    // The bounds peekConnection (frame-peek.ts) puts on `UUID SP ID SP`, without scanning for the spaces again.
    if (sp1 <= 0 || sp2 <= sp1 + 1 || sp2 - sp1 > 11 || !isDisconnectNotice(frame, sp2 + 1)) return;
    this.#depart(`${frame.toString('latin1', 0, sp1)}:${frame.toString('latin1', sp1 + 1, sp2)}`);
  }

  /**
   * Hand the held push message of `server` to Mongrel2. The dispatcher calls it before it forwards a reply to that
   * server, so replies and pushes reach Mongrel2 in the order they came.
   */
  flush(server: number): void {
    const held = this.#held[server];
    if (held === undefined) return;
    this.#held[server] = undefined;
    const pace = this.#paces[server];
    const now = performance.now();
    if (pace !== undefined && pace.head.equals(held.head)) {
      pace.sentAt = now;
    } else {
      if (pace?.timer !== undefined) clearTimeout(pace.timer);
      this.#paces[server] = { head: held.head, sentAt: now, intervalMs: PACE_MIN_MS, timer: undefined };
    }
    this.#effects.post(server, Buffer.concat([held.head, ...held.bodies], held.head.length + held.bytes));
  }

  /** The dispatcher is stopping: every held push message goes to Mongrel2 now, and no pacing timer is left. */
  close(): void {
    for (let server = 0; server < this.#held.length; server++) this.flush(server);
    for (const pace of this.#paces) if (pace?.timer !== undefined) clearTimeout(pace.timer);
  }

  /** Schedule the flush of `server`'s new held message: at the end of the turn, or later while its connections are busy. */
  #schedule(server: number, head: Buffer): void {
    const pace = this.#paces[server];
    const wait = pace === undefined || !pace.head.equals(head) ? 0 : pace.sentAt + pace.intervalMs - performance.now();
    if (pace === undefined || wait <= 0) {
      if (pace !== undefined && wait <= -2 * pace.intervalMs) pace.intervalMs = PACE_MIN_MS; // idle again
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(this.#flushAll);
      }
      return;
    }
    // Still busy: this message waits (and merges what follows), and the next one will wait longer.
    pace.intervalMs = Math.min(PACE_MAX_MS, pace.intervalMs * 2);
    if (pace.timer !== undefined) clearTimeout(pace.timer);
    pace.timer = setTimeout(() => {
      pace.timer = undefined;
      this.flush(server);
    }, Math.ceil(wait));
  }

  /**
   * Mongrel2 gives each connection a queue of 16 messages and closes the connection when it overflows
   * (docs/mongrel2.md §4.4, §4.8): a burst of pushes to one client (a loop of sends, broadcasts to a busy room) would cut
   * it off. So consecutive push messages to the same connections of one server, within one event-loop turn, become
   * one message (their bodies concatenated: WebSocket frames, SSE events and raw bytes all concatenate). Only
   * adjacent messages merge, so the order every connection sees is unchanged; closes and `X` messages never merge.
   */
  #emit(server: number, frame: Buffer): void {
    const split = headEnd(frame);
    const held = this.#held[server];
    if (held !== undefined && split > 0 && split === held.head.length && held.bytes + frame.length - split <= MERGE_LIMIT && frame.compare(held.head, 0, split, 0, split) === 0) {
      held.bodies.push(frame.subarray(split));
      held.bytes += frame.length - split;
      return;
    }
    this.flush(server);
    if (split <= 0) {
      this.#effects.post(server, frame);
      return;
    }
    const head = frame.subarray(0, split);
    this.#held[server] = { head, bodies: [frame.subarray(split)], bytes: frame.length - split };
    this.#schedule(server, head);
  }

  /**
   * A watched WebSocket's client sent a close frame: the worker that gets the frame runs its close handler, so the
   * disconnect notice that may follow must not run it again — whatever reaches the dispatcher first (exactly once).
   * Only the header part of the message is searched.
   */
  #closeFrame(frame: Buffer, sp1: number, sp2: number): void {
    const headers = headersRange(frame, sp2 + 1);
    if (headers === undefined) return;
    // Within the headers only: a large body is never scanned.
    if (frame.subarray(headers.start, headers.end).indexOf(frame[headers.start] === 0x7b ? CLOSE_FLAGS_JSON : CLOSE_FLAGS_TNET) < 0) return;
    this.registry.unwatch(`${frame.toString('latin1', 0, sp1)}:${frame.toString('latin1', sp1 + 1, sp2)}`);
  }

  /** A PUSH command from a worker (`frames[0]` is the command). Returns an error text for a malformed one. */
  handle(address: Buffer, frames: readonly Buffer[]): string | undefined {
    return readBatch(frames, 0, alwaysPayload, (tag, id, _server, payload) => {
      if (payload !== undefined) this.#entry(address, tag, id, payload);
    });
  }

  /** Heartbeats that are due and parked polls past their deadline. Call every few hundred ms. */
  sweep(): void {
    const now = this.#now();
    for (const group of this.registry.dueHeartbeats(now)) this.#sendGroup(group, HEARTBEAT, 'heartbeat');
    for (const member of this.registry.expiredPolls(now)) {
      this.registry.remove(member.key);
      if (member.timeoutReply !== undefined && member.timeoutReply.length > 0) {
        this.#post(member.server, member.uuid, [member.id], member.timeoutReply, 'poll-timeout');
      }
      for (const frame of encodeClose(member.uuid, [member.id])) this.#emit(member.server, frame);
    }
  }

  #entry(address: Buffer, tag: number, id: number, payload: Buffer): void {
    if (tag === PushTag.MESSAGE) return this.#message(payload);
    const op = readOp(payload);
    if (op === undefined) return this.#reject('malformed', `push entry ${tag} is not a JSON header + LF`);
    const h = op.header;
    switch (tag) {
      case PushTag.JOIN: {
        this.#count('join');
        const kind = connKindOf(h['kind']);
        const room = h['room'];
        if (kind === undefined || !(room === null || isRoom(room)) || !Array.isArray(h['conns'])) return this.#reject('malformed', 'bad join');
        const now = this.#now();
        for (const key of h['conns'] as unknown[]) {
          const conn = this.#conn(key);
          if (conn === undefined) continue;
          this.registry.join(room, conn.key, conn.uuid, conn.id, conn.server, kind, { heartbeatMs: intOf(h['heartbeatMs']), timeoutMs: intOf(h['timeoutMs']), timeoutReply: op.tail.length > 0 ? Buffer.from(op.tail) : undefined }, now);
        }
        return;
      }
      case PushTag.LEAVE: {
        this.#count('leave');
        const room = h['room'];
        if (!(room === null || isRoom(room)) || !Array.isArray(h['conns'])) return this.#reject('malformed', 'bad leave');
        for (const key of h['conns'] as unknown[]) if (typeof key === 'string') this.registry.leave(room, key);
        return;
      }
      case PushTag.BROADCAST:
        this.#count('broadcast');
        return this.#broadcast(h, op.tail);
      case PushTag.ANSWER: {
        this.#count('answer');
        const key = h['conn'];
        const member = typeof key === 'string' ? this.registry.get(key) : undefined;
        if (member === undefined || member.deadline === 0 || op.tail.length === 0) return this.#reject('not-parked', undefined);
        this.#answerPoll(member, op.tail);
        return;
      }
      case PushTag.MEMBERS: {
        this.#count('members');
        const room = h['room'];
        const members = isRoom(room) ? this.registry.members(room).map((m) => [m.key, m.kind]) : [];
        const writer = new BatchWriter();
        writer.add(EventTag.MEMBERS, id, 0, opPayload({ members }));
        this.#effects.toWorker(address, writer.take(EVENTS_COMMAND));
        return;
      }
      case PushTag.WATCH: {
        this.#count('watch');
        const conn = this.#conn(h['conn']);
        if (conn !== undefined && op.tail.length > 0) this.registry.watch(conn.key, conn.uuid, conn.id, conn.server, Buffer.from(op.tail));
        return;
      }
      case PushTag.GONE: {
        this.#count('gone');
        const key = h['conn'];
        if (typeof key !== 'string' || !CONN_RE.test(key)) return this.#reject('malformed', 'bad gone');
        // The framework closed it after handling the client's close frame (or failing it): its close handler already
        // ran, so the event carries no handshake.
        this.registry.unwatch(key);
        this.#depart(key);
        return;
      }
      default:
        return this.#reject('malformed', `unknown push tag ${tag}`);
    }
  }

  /** One Mongrel2 message from a worker: to the server its UUID names, checked as Mongrel2 would (docs/mongrel2.md §4.1, §4.6). */
  #message(frame: Buffer): void {
    this.#count('message');
    let targets: number;
    let uuid: string;
    try {
      const parsed = parseReply(frame);
      targets = parsed.connIds.length;
      uuid = parsed.sender;
    } catch (err) {
      return this.#reject('malformed', `push message: ${err instanceof Error ? err.message : String(err)}`);
    }
    const server = this.#servers.get(uuid);
    if (server === undefined) return this.#reject('unknown-server', `no Mongrel2 known by UUID ${JSON.stringify(uuid)}`);
    // A copy: the frame is a view into the worker's batch, and it may be held until the end of the turn.
    this.#emit(server, Buffer.from(frame));
    this.#sent('direct', targets);
  }

  #broadcast(h: Record<string, unknown>, tail: Buffer): void {
    const room = h['room'];
    const lens = h['lens'];
    if (!isRoom(room) || !Array.isArray(lens) || lens.length !== CONN_KINDS.length) return this.#reject('malformed', 'bad broadcast');
    const bodies = new Map<ConnKind, Buffer>();
    let at = 0;
    for (let i = 0; i < CONN_KINDS.length; i++) {
      const len = lens[i];
      if (typeof len !== 'number' || !Number.isSafeInteger(len) || len < 0 || at + len > tail.length) return this.#reject('malformed', 'broadcast lengths do not match its bodies');
      // A copy: the tail is a view into the worker's batch, and Mongrel2 sends are queued.
      if (len > 0) bodies.set(CONN_KINDS[i] as ConnKind, Buffer.from(tail.subarray(at, at + len)));
      at += len;
    }
    const except = typeof h['except'] === 'string' ? h['except'] : undefined;
    for (const group of this.registry.groups(room, except)) {
      const body = bodies.get(group.kind);
      if (body === undefined) continue;
      if (group.kind === 'poll') {
        for (const member of group.members) this.#answerPoll(member, body);
      } else {
        this.#sendGroup(group, body, group.kind);
      }
    }
  }

  /** A parked poll is answered once: the reply, a close, and it is forgotten. */
  #answerPoll(member: Member, reply: Buffer): void {
    this.registry.remove(member.key);
    this.#post(member.server, member.uuid, [member.id], reply, 'poll');
    for (const frame of encodeClose(member.uuid, [member.id])) this.#emit(member.server, frame);
  }

  #sendGroup(group: MemberGroup, body: Buffer, kind: PushMessageKind): void {
    this.#post(group.server, group.uuid, group.ids, body, kind);
  }

  #post(server: number, uuid: string, ids: number[], body: Buffer, kind: PushMessageKind): void {
    const frames = encodeReply(uuid, ids, body);
    for (const frame of frames) this.#emit(server, frame);
    this.#stats.pushMessages.set(kind, (this.#stats.pushMessages.get(kind) ?? 0) + frames.length);
    this.#stats.pushDeliveries += ids.length;
  }

  #sent(kind: PushMessageKind, targets: number): void {
    this.#stats.pushMessages.set(kind, (this.#stats.pushMessages.get(kind) ?? 0) + 1);
    this.#stats.pushDeliveries += targets;
  }

  /** `key` went away: it leaves every room; exactly one worker gets its event (repeats are dropped). */
  #depart(key: string): void {
    if (this.#departed.has(key)) {
      this.#stats.disconnectEvents.set('duplicate', (this.#stats.disconnectEvents.get('duplicate') ?? 0) + 1);
      return;
    }
    this.#departed.add(key);
    if (this.#departed.size > RECENT_DEPARTURES) {
      const oldest = this.#departed.values().next().value;
      if (oldest !== undefined) this.#departed.delete(oldest);
    }
    const member = this.registry.remove(key);
    const payload = opPayload({ conn: key }, member?.handshake);
    let sent: boolean;
    if (this.#effects.eventToAnyWorker !== undefined) {
      sent = this.#effects.eventToAnyWorker(EventTag.DISCONNECT, 0, payload);
    } else {
      const writer = new BatchWriter();
      writer.add(EventTag.DISCONNECT, 0, 0, payload);
      sent = this.#effects.toAnyWorker(writer.take(EVENTS_COMMAND));
    }
    const outcome = sent ? 'sent' : 'no-worker';
    this.#stats.disconnectEvents.set(outcome, (this.#stats.disconnectEvents.get(outcome) ?? 0) + 1);
  }

  /** A connection named by a worker, on a Mongrel2 we know; undefined (counted) otherwise. */
  #conn(value: unknown): { key: string; uuid: string; id: number; server: number } | undefined {
    const m = typeof value === 'string' ? CONN_RE.exec(value) : null;
    if (m === null) {
      this.#reject('malformed', 'not a connection');
      return undefined;
    }
    const uuid = m[1] as string;
    const id = Number(m[2]);
    const server = this.#servers.get(uuid);
    if (server === undefined || id > 0xffffffff) {
      this.#reject(server === undefined ? 'unknown-server' : 'malformed', `connection ${value as string}`);
      return undefined;
    }
    return { key: value as string, uuid, id, server };
  }

  #count(op: PushOp): void {
    this.#stats.pushOps.set(op, (this.#stats.pushOps.get(op) ?? 0) + 1);
  }

  #reject(reason: PushRejectReason, detail: string | undefined): void {
    this.#stats.pushRejected.set(reason, (this.#stats.pushRejected.get(reason) ?? 0) + 1);
    if (detail !== undefined) this.#log.warn({ event: 'dispatcher.push.rejected', reason, detail: detail.slice(0, 200) }, 'push dropped');
  }
}

/**
 * `frame` is longer than `prefix` and begins with it. A loop, not `Buffer.compare` with offsets: for the 37 bytes of
 * `UUID SP` the call into the binding cost more than the comparison (about 1 µs per message in a CPU profile).
 */
function startsWith(frame: Buffer, prefix: Buffer): boolean {
  const n = prefix.length;
  if (frame.length <= n) return false;
  for (let i = 0; i < n; i++) if (frame[i] !== prefix[i]) return false;
  return true;
}

/**
 * Where the body of a reply message starts (after `UUID SP LEN ":" IDS "," SP`), or 0 for one that must not be
 * merged: a close (empty body), an extended (`X`) message, or anything that does not look like a reply.
 */
function headEnd(frame: Buffer): number {
  const sp = frame.indexOf(0x20);
  if (sp <= 0) return 0;
  const colon = frame.indexOf(0x3a, sp + 1);
  if (colon < 0 || colon - sp > 10) return 0;
  const len = Number(frame.toString('latin1', sp + 1, colon));
  const end = colon + 1 + len + 2;
  if (!Number.isSafeInteger(len) || frame[colon + 1] === 0x58 || frame[end - 2] !== 0x2c || end >= frame.length) return 0;
  return end;
}

function isRoom(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 256;
}

function intOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
