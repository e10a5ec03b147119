/**
 * `app.push`: write to any client connection of the pool, from a handler or from code outside any request (a
 * timer, a queue consumer) — raw bytes, WebSocket messages, Server-Sent Events, closes — and pool-wide rooms.
 * Mongrel2 accepts one message for up to 128 connections (docs/mongrel2.md §4.1): targets are grouped
 * per Mongrel2 (by UUID) and split at 128.
 *
 * The worker runtime binds a {@link PushTransport} when it starts (direct: straight to the Mongrel2 with that
 * UUID; dispatch: through the dispatcher, which also holds the rooms). Without one — `app.request()` tests,
 * `m2pool serve` — every call rejects with `M2P_ERR_PUSH_UNAVAILABLE`; tests bind their own transport with
 * `app.push.bind()`.
 * @module
 */
import { ErrorCode, M2PoolError } from '../errors';
import { fixedHead } from '../http/response-head';
import { serializeResponse } from '../protocol/http-response';
import { encodeClose, encodeReply } from '../protocol/reply-writer';
import { encodeCloseFrame, encodeFrame, WS_CLOSE, WS_OPCODE } from '../protocol/websocket';
import { Conn, type ConnLike } from './conn';
import { Parked } from './parked';
import { formatSseEvent, type SseEvent } from './sse-format';

/** How a room member's messages are framed. `poll`: a parked request, answered once (200) and closed. */
export type MemberKind = 'websocket' | 'sse' | 'raw' | 'poll';

/** The kinds in wire order (a broadcast carries one body per kind, in this order). */
export const MEMBER_KINDS: readonly MemberKind[] = ['websocket', 'sse', 'raw', 'poll'];

/** One room member as {@link Pusher.members} reports it. */
export interface RoomMember {
  readonly conn: Conn;
  readonly kind: MemberKind;
}

/** Per-kind bodies of one broadcast; members of a kind without a body get nothing. */
export type KindBodies = Partial<Record<MemberKind, Buffer>>;

/** Options of a hub `join`. */
export interface HubJoinOptions {
  /** SSE: comment heartbeat period in ms (0: none). */
  readonly heartbeatMs?: number;
  /** poll: deadline in ms, then `timeoutReply` is sent. */
  readonly timeoutMs?: number;
  readonly timeoutReply?: Buffer;
}

/** The pool's room hub (the dispatcher); absent in the direct topology. Calls are queued in order. */
export interface RoomHub {
  join(room: string | null, conns: readonly string[], kind: MemberKind, options: HubJoinOptions): Promise<void> | void;
  leave(room: string | null, conns: readonly string[]): Promise<void> | void;
  broadcast(room: string, bodies: KindBodies, except: string | undefined): Promise<void> | void;
  /** Answer a parked request (kind `poll`) if it is still parked; dropped (and counted) otherwise. */
  answer(conn: string, reply: Buffer): Promise<void> | void;
  members(room: string): Promise<ReadonlyArray<readonly [conn: string, kind: MemberKind]>>;
  /** The app closed this connection: it leaves every room and its disconnect event runs. */
  gone(conn: string): Promise<void> | void;
}

/** What a topology gives `app.push` (bound by the worker runtime). */
export interface PushTransport {
  /**
   * Hand over Mongrel2 reply messages (each for ≤ 128 ids of one UUID) in order, each to the Mongrel2 its UUID
   * names. Rejects with `M2P_ERR_PUSH_FAILED` when a UUID is unknown or a message cannot be handed over in time.
   */
  messages(frames: readonly Buffer[]): Promise<void>;
  /** The room hub, or undefined (direct topology: rooms need one process that sees every connection). */
  readonly hub: RoomHub | undefined;
}

/** What one broadcast sends: text or bytes, framed for each member's kind. */
export type BroadcastMessage = string | Uint8Array;

/** Options of {@link Pusher.broadcast}. */
export interface BroadcastOptions {
  /** Skip this member (e.g. the sender). */
  readonly except?: ConnLike;
  /** SSE members: the event's `event` field. */
  readonly event?: string;
  /** SSE members: the event's `id` field. */
  readonly id?: string;
}

/** Options of {@link Pusher.join}. */
export interface JoinOptions {
  /** @default 'websocket' */
  readonly kind?: MemberKind;
}

/** Options of {@link Pusher.stream}. */
export interface StreamOptions {
  /** Rooms the stream joins (as an `sse` member: a broadcast reaches it as an event). @default none */
  readonly rooms?: readonly string[];
  /** A comment line this often, sent by the dispatcher (0: none). @default 15000 */
  readonly heartbeatMs?: number;
  /** Sent first as the `retry` field: how long the client waits before reconnecting. @default unset */
  readonly retryMs?: number;
}

/** Options of {@link Pusher.park}. */
export interface ParkOptions {
  /** The room whose next broadcast answers the request (200, the message as body). */
  readonly room: string;
  /** After this many ms without a broadcast the request is answered `timeoutStatus`. @default 25000 */
  readonly timeoutMs?: number;
  /** 204 (nothing happened, ask again) or 504. @default 204 */
  readonly timeoutStatus?: 204 | 504;
}

/** Default of {@link StreamOptions.heartbeatMs}. */
export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;
/** Default of {@link ParkOptions.timeoutMs}. */
export const DEFAULT_PARK_TIMEOUT_MS = 25_000;

/** The head of an event stream: no length, so the body runs until the connection closes. */
const STREAM_HEAD = fixedHead(200, [['Content-Type', 'text/event-stream'], ['Cache-Control', 'no-store'], ['X-Accel-Buffering', 'no']], 'close-delimited');

const CLOSE_AFTER: ReadonlyArray<[string, string]> = [['Connection', 'close']];

/**
 * Push to connections and rooms. Every method resolves once its messages were handed over (in call order, also
 * relative to the replies of the calling request), and rejects — never drops silently — when they cannot be.
 * @example
 * app.websocket('/ws/:room', {
 *   open: (ctx) => app.push.join(ctx.params['room']!, ctx.conn),
 *   message: (ctx, msg) => app.push.broadcast(ctx.params['room']!, msg.text ?? msg.data),
 * });
 * setInterval(() => void app.push.broadcast('lobby', 'tick'), 1000); // outside any request
 */
export class Pusher {
  #transport: PushTransport | undefined;

  /** Bind the transport (the worker runtime does; tests may bind their own). Replaces an earlier one. */
  bind(transport: PushTransport | undefined): void {
    this.#transport = transport;
  }

  /** Whether a transport is bound. */
  get bound(): boolean {
    return this.#transport !== undefined;
  }

  /** Whether rooms (and parking, SSE heartbeats) are available: a hub is bound. */
  get hasRooms(): boolean {
    return this.#transport?.hub !== undefined;
  }

  /** Raw bytes, verbatim (the app writes HTTP itself, e.g. the chunks of a response it left open). */
  send(to: ConnLike | readonly ConnLike[], data: string | Uint8Array): Promise<void> {
    return this.#to(to, (uuid, ids) => encodeReply(uuid, ids, bytesOf(data)));
  }

  /** A WebSocket message: a TEXT frame for a string, BINARY for bytes. */
  websocket(to: ConnLike | readonly ConnLike[], data: string | Uint8Array): Promise<void> {
    const frame = typeof data === 'string' ? encodeFrame(WS_OPCODE.TEXT, data) : encodeFrame(WS_OPCODE.BINARY, bytesOf(data));
    return this.#to(to, (uuid, ids) => encodeReply(uuid, ids, frame));
  }

  /** A WebSocket TEXT message holding `JSON.stringify(value)`. */
  json(to: ConnLike | readonly ConnLike[], value: unknown): Promise<void> {
    return this.websocket(to, JSON.stringify(value) ?? 'null');
  }

  /** One Server-Sent Event to event streams opened with `stream()` (format: `app/sse-format.ts`). */
  sse(to: ConnLike | readonly ConnLike[], event: SseEvent): Promise<void> {
    const bytes = formatSseEvent(event);
    return this.#to(to, (uuid, ids) => encodeReply(uuid, ids, bytes));
  }

  /** Close connections (after what was already sent to them). */
  close(to: ConnLike | readonly ConnLike[]): Promise<void> {
    return this.#closing(to, this.#to(to, (uuid, ids) => encodeClose(uuid, ids)));
  }

  /** Close WebSockets properly: a close frame (`code`, `reason`), then the connection. */
  closeWebSocket(to: ConnLike | readonly ConnLike[], code: number = WS_CLOSE.NORMAL, reason = ''): Promise<void> {
    const frame = encodeCloseFrame(code, reason);
    return this.#closing(to, this.#to(to, (uuid, ids) => [...encodeReply(uuid, ids, frame), ...encodeClose(uuid, ids)]));
  }

  /** Mongrel2 rarely sends a notice for a connection its handler closed: the hub is told, so it leaves its rooms. */
  #closing(to: ConnLike | readonly ConnLike[], sent: Promise<void>): Promise<void> {
    const hub = this.#transport?.hub;
    if (hub !== undefined) {
      try {
        for (const conn of keys(to)) void Promise.resolve(hub.gone(conn)).catch(() => undefined); // `sent` reports a dead link
      } catch {
        // bad targets: `sent` already rejects for them
      }
    }
    return sent;
  }

  /** Add connections to a room (pool-wide; the dispatcher holds it). A connection that goes away leaves at once. */
  join(room: string, conns: ConnLike | readonly ConnLike[], options: JoinOptions = {}): Promise<void> {
    return this.#hub((hub) => hub.join(roomName(room), keys(conns), options.kind ?? 'websocket', {}));
  }

  /** Take connections out of one room. */
  leave(room: string, conns: ConnLike | readonly ConnLike[]): Promise<void> {
    return this.#hub((hub) => hub.leave(roomName(room), keys(conns)));
  }

  /** Take connections out of every room. */
  leaveAll(conns: ConnLike | readonly ConnLike[]): Promise<void> {
    return this.#hub((hub) => hub.leave(null, keys(conns)));
  }

  /**
   * Send `message` to every member of `room`, framed for its kind: a WebSocket frame (text for a string), an SSE
   * event (`data` = the text), the raw bytes, or — for a parked long-poll — a `200` response with the message as
   * its body. One Mongrel2 message per 128 members per Mongrel2 per kind.
   */
  broadcast(room: string, message: BroadcastMessage, options: BroadcastOptions = {}): Promise<void> {
    return this.#hub((hub) => {
      const bytes = bytesOf(message);
      const text = typeof message === 'string';
      const bodies: KindBodies = {
        websocket: encodeFrame(text ? WS_OPCODE.TEXT : WS_OPCODE.BINARY, bytes),
        sse: formatSseEvent({ data: text ? message : bytes.toString('base64'), ...(options.event === undefined ? {} : { event: options.event }), ...(options.id === undefined ? {} : { id: options.id }) }),
        raw: bytes,
        poll: pollReply(200, bytes, text ? 'text/plain; charset=utf-8' : 'application/octet-stream'),
      };
      return hub.broadcast(roomName(room), bodies, options.except === undefined ? undefined : String(Conn.from(options.except)));
    });
  }

  /** The members of `room`, in the order they joined. */
  async members(room: string): Promise<RoomMember[]> {
    const hub = this.hubOrThrow();
    const list = await hub.members(roomName(room));
    return list.map(([conn, kind]) => ({ conn: Conn.parse(conn), kind }));
  }

  /**
   * Turn the request into a Server-Sent Events stream: return the result from the handler. The head goes out,
   * the connection joins `rooms` as an `sse` member and gets heartbeats from the dispatcher; the request ends
   * there (it holds no in-flight slot). Send events with `sse()`, or to the rooms with `broadcast()`.
   * @throws M2PoolError PUSH_UNAVAILABLE without a transport, or with rooms or heartbeats in the direct topology.
   * @example app.get('/events/:room', (ctx) => app.push.stream(ctx, { rooms: [ctx.params['room']!] }));
   */
  stream(ctx: { readonly conn: Conn }, options: StreamOptions = {}): Parked {
    const rooms = (options.rooms ?? []).map(roomName);
    const heartbeatMs = options.heartbeatMs ?? DEFAULT_SSE_HEARTBEAT_MS;
    const needsHub = rooms.length > 0 || heartbeatMs > 0;
    const hub = needsHub ? this.hubOrThrow() : (this.#transportOrThrow(), undefined);
    const retry = options.retryMs === undefined ? undefined : Buffer.from(`retry: ${Math.max(0, Math.floor(options.retryMs))}\n\n`);
    const conn = [String(ctx.conn)];
    const join = async (): Promise<void> => {
      if (hub === undefined) return;
      if (rooms.length === 0) await hub.join(null, conn, 'sse', { heartbeatMs });
      await Promise.all(rooms.map((room) => hub.join(room, conn, 'sse', { heartbeatMs })));
    };
    return new Parked(200, STREAM_HEAD, join, retry);
  }

  /**
   * Park a long-poll request: return the result from the handler. The next broadcast to `room` answers it
   * (200 with the message as body), or its deadline (`timeoutStatus`, default 204); both answers close the
   * connection, so a parked request is answered exactly once and never ahead of a later request. It holds no
   * in-flight slot and no dispatcher grant while parked.
   * @throws M2PoolError PUSH_UNAVAILABLE outside the dispatch topology.
   */
  park(ctx: { readonly conn: Conn }, options: ParkOptions): Parked {
    const hub = this.hubOrThrow();
    const room = roomName(options.room);
    const timeoutMs = options.timeoutMs ?? DEFAULT_PARK_TIMEOUT_MS;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new M2PoolError(ErrorCode.CONN_INVALID, `park timeoutMs must be a positive integer, got ${timeoutMs}`);
    const timeoutReply = pollReply(options.timeoutStatus ?? 204, Buffer.from('no message before the deadline\n'));
    const conn = [String(ctx.conn)];
    return new Parked(0, undefined, () => hub.join(room, conn, 'poll', { timeoutMs, timeoutReply }));
  }

  /** Answer a parked request (see {@link park}) with a complete response, if it is still parked. */
  answer(conn: ConnLike, status: number, body: string | Uint8Array, contentType?: string): Promise<void> {
    return this.#hub((hub) => hub.answer(String(Conn.from(conn)), pollReply(status, bytesOf(body), contentType)));
  }

  /** The bound hub, or a rejection-worthy error (for `stream()`, `park()` and the room operations). */
  hubOrThrow(): RoomHub {
    const transport = this.#transportOrThrow();
    if (transport.hub === undefined) {
      throw new M2PoolError(ErrorCode.PUSH_UNAVAILABLE, 'rooms need the dispatch topology: the dispatcher holds membership (in the direct topology no process sees every connection)');
    }
    return transport.hub;
  }

  #transportOrThrow(): PushTransport {
    if (this.#transport === undefined) {
      throw new M2PoolError(ErrorCode.PUSH_UNAVAILABLE, 'push needs the worker runtime (m2pool start / m2pool worker); app.request() and m2pool serve have none — bind one with app.push.bind() in tests');
    }
    return this.#transport;
  }

  /** Run a hub operation: resolves once it was handed to the hub, rejects when it cannot be. */
  #hub(op: (hub: RoomHub) => Promise<void> | void): Promise<void> {
    try {
      return Promise.resolve(op(this.hubOrThrow()));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #to(to: ConnLike | readonly ConnLike[], encode: (uuid: string, ids: number[]) => Buffer[]): Promise<void> {
    try {
      const transport = this.#transportOrThrow();
      const frames: Buffer[] = [];
      for (const [uuid, ids] of groupByServer(to)) frames.push(...encode(uuid, ids));
      return frames.length === 0 ? Promise.resolve() : transport.messages(frames);
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/** Targets grouped by Mongrel2 UUID, each id once, in first-seen order. */
export function groupByServer(to: ConnLike | readonly ConnLike[]): Map<string, number[]> {
  const list: readonly ConnLike[] = typeof to === 'string' || to instanceof Conn ? [to] : to;
  const groups = new Map<string, number[]>();
  const seen = new Set<string>();
  for (const item of list) {
    const conn = Conn.from(item);
    const key = String(conn);
    if (seen.has(key)) continue;
    seen.add(key);
    let ids = groups.get(conn.server);
    if (ids === undefined) groups.set(conn.server, (ids = []));
    ids.push(conn.id);
  }
  return groups;
}

/** A complete response that closes its connection: what a parked long-poll is answered with. */
export function pollReply(status: number, body: Buffer, contentType = 'text/plain; charset=utf-8'): Buffer {
  const headers: Array<[string, string]> = status === 204 ? [...CLOSE_AFTER] : [['Content-Type', contentType], ['Cache-Control', 'no-store'], ...CLOSE_AFTER];
  return serializeResponse({ version: 'HTTP/1.1', status, headers }, status === 204 ? Buffer.alloc(0) : body);
}

function keys(conns: ConnLike | readonly ConnLike[]): string[] {
  return [...groupByServer(conns)].flatMap(([uuid, ids]) => ids.map((id) => `${uuid}:${id}`));
}

function roomName(room: string): string {
  if (typeof room !== 'string' || room.length === 0 || room.length > 256) throw new M2PoolError(ErrorCode.CONN_INVALID, 'a room name is a string of 1 to 256 characters');
  return room;
}

function bytesOf(data: string | Uint8Array): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
