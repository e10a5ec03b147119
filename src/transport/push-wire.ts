/**
 * Pushes and rooms on the worker ⇄ dispatcher wire (docs/dispatch-protocol.md "Pushes and rooms", issue #20).
 * Both directions reuse the batch layout of `dispatch-wire.ts` (command, index, data) under their own commands —
 * `T` (PUSH, worker → dispatcher) and `V` (EVENTS, dispatcher → worker) — so a push is never mistaken for a reply:
 * the dispatcher keeps checking that replies go only to the connection of the request they answer, and routes
 * pushes by the UUID in front of each Mongrel2 message instead.
 *
 * Every entry has a payload. A MESSAGE payload is one Mongrel2 reply message (≤ 128 ids of one UUID, built by
 * `protocol/reply-writer.ts`). Every other payload is an operation: a JSON header, one LF, and a binary tail.
 * @module
 */
import { Command } from './dispatch-wire';

/** PUSH entry tags (worker → dispatcher). */
export const PushTag = {
  /** A Mongrel2 reply message to forward to the server named by its UUID. */
  MESSAGE: 0x4d, // 'M'
  /** {@link JoinHeader}; tail: the timeout reply of a parked request (kind `poll`). */
  JOIN: 0x4a, // 'J'
  /** {@link LeaveHeader}. */
  LEAVE: 0x58, // 'X'
  /** {@link BroadcastHeader}; tail: the bodies of every kind, back to back. */
  BROADCAST: 0x43, // 'C'
  /** {conn}; tail: the whole reply for a parked request (sent, then the connection closed, if it is still parked). */
  ANSWER: 0x41, // 'A'
  /** {room}; the entry id is the question's id, answered by an EVENTS `Q` entry. */
  MEMBERS: 0x51, // 'Q'
  /** {conn}; tail: the handshake message of a WebSocket, kept to run its `close` handler when the client drops. */
  WATCH: 0x57, // 'W'
  /** {conn}: the framework closed this connection: it leaves every room, its disconnect event runs now. */
  GONE: 0x47, // 'G'
} as const;

/** EVENTS entry tags (dispatcher → worker). */
export const EventTag = {
  /** {conn}; tail: the handshake message of a watched WebSocket, or nothing. Sent to exactly one worker. */
  DISCONNECT: 0x44, // 'D'
  /** {members: [[conn, kind], …]}; the entry id is the question's id. */
  MEMBERS: 0x51, // 'Q'
} as const;

/** The PUSH command byte. */
export const PUSH_COMMAND = Command.PUSH;
/** The EVENTS command byte. */
export const EVENTS_COMMAND = Command.EVENTS;

/** How a member's messages are framed: what one broadcast sends it. */
export const CONN_KINDS = ['websocket', 'sse', 'raw', 'poll'] as const;
/** One of {@link CONN_KINDS}. `poll` members are parked requests: answered once, then closed. */
export type ConnKind = (typeof CONN_KINDS)[number];

/** JOIN header. `room: null` registers the connections without a room (an SSE stream's heartbeats). */
export interface JoinHeader {
  readonly room: string | null;
  readonly conns: readonly string[];
  readonly kind: ConnKind;
  /** SSE: send a comment line this often (ms); 0 = never. */
  readonly heartbeatMs?: number;
  /** poll: answer with the tail after this many ms. */
  readonly timeoutMs?: number;
}

/** LEAVE header. `room: null` = every room (and forget the connection). */
export interface LeaveHeader {
  readonly room: string | null;
  readonly conns: readonly string[];
}

/** BROADCAST header: `lens[i]` is the byte length of the body for `CONN_KINDS[i]` in the tail (0 = skip that kind). */
export interface BroadcastHeader {
  readonly room: string;
  readonly except?: string;
  readonly lens: readonly number[];
}

const LF = 0x0a;
const EMPTY = Buffer.alloc(0);

/** An operation payload: JSON header, LF, tail. */
export function opPayload(header: object, tail: Buffer = EMPTY): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(json.length + 1 + tail.length);
  json.copy(out, 0);
  out[json.length] = LF;
  tail.copy(out, json.length + 1);
  return out;
}

/** A decoded operation payload, or undefined when it is not one (no LF, or a header that is not a JSON object). */
export function readOp(payload: Buffer): { readonly header: Record<string, unknown>; readonly tail: Buffer } | undefined {
  const lf = payload.indexOf(LF);
  if (lf < 0 || lf > 1_000_000) return undefined;
  try {
    const header: unknown = JSON.parse(payload.toString('utf8', 0, lf));
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined;
    return { header: header as Record<string, unknown>, tail: payload.subarray(lf + 1) };
  } catch {
    return undefined;
  }
}

/** Every PUSH and EVENTS entry carries a payload. */
export function alwaysPayload(): boolean {
  return true;
}

/** A kind from the wire, or undefined. */
export function connKindOf(value: unknown): ConnKind | undefined {
  return typeof value === 'string' && (CONN_KINDS as readonly string[]).includes(value) ? (value as ConnKind) : undefined;
}
