/**
 * The wire format between workers and the dispatcher (docs/dispatch-protocol.md): ZeroMQ multipart messages whose
 * first frame is a one-byte command. A batch is three frames: the command, an index (one 11-byte entry per item:
 * tag, request id, server, payload length) and one data frame holding the payloads back to back, byte for byte as
 * Mongrel2 sent or expects them: nothing is re-encoded, and one ZeroMQ message of three frames carries everything
 * one side had for the other in one event-loop turn. (One frame per payload cost zeromq.js a zero-copy reference
 * and libzmq a message per request on both ends; copying a few hundred bytes into one frame is cheaper.)
 * Shared by the dispatcher and the worker-side transport; it loads nothing else.
 * @module
 */

/** Protocol version, in HELLO and WELCOME. */
export const WIRE_VERSION = 1;

/** One-byte commands (first frame). */
export const Command = {
  /** worker → dispatcher: json {@link HelloBody}, on every (re)connection. */
  HELLO: 0x48, // 'H'
  /** both ways: a batch (index frame + payload frames). */
  BATCH: 0x42, // 'B'
  /** worker → dispatcher: send me nothing more. */
  LEAVE: 0x4c, // 'L'
  /** worker → dispatcher: json {@link PingBody}, every heartbeat interval, from the worker's event loop. */
  PING: 0x50, // 'P'
  /** dispatcher → worker: json {@link WelcomeBody}, the answer to HELLO. */
  WELCOME: 0x57, // 'W'
  /** dispatcher → worker: json {@link StatusBody}, when its Mongrel2 links change. */
  STATUS: 0x53, // 'S'
  /** dispatcher → worker: after LEAVE, nothing more will come. */
  LEFT: 0x46, // 'F'
  /** dispatcher → worker: I do not know you (restarted, or I declared you dead): say HELLO again. */
  UNKNOWN: 0x55, // 'U'
  /** worker → dispatcher: pushes and room operations (`push-wire.ts`), never a reply to a request it holds. */
  PUSH: 0x54, // 'T'
  /** dispatcher → worker: disconnect events and room answers (`push-wire.ts`). */
  EVENTS: 0x56, // 'V'
  /**
   * worker → dispatcher: a hand-over (docs/dispatch-protocol.md, "Dispatcher crash"): batch frames whose entries
   * are replies and holds for requests the worker got from a dispatcher that vanished (a different instance).
   */
  HANDOVER: 0x4f, // 'O'
  /**
   * dispatcher → worker: json {@link GoodbyeBody}, when it stops gracefully: it answered everything it gave you,
   * so nothing of it may be handed over to its successor.
   */
  GOODBYE: 0x47, // 'G'
} as const;

/** Batch entry tags. Direction decides the meaning of the shared letter N. */
export const Tag = {
  /** dispatcher → worker: a request (uses one credit); payload = the Mongrel2 message. */
  REQUEST: 0x51, // 'Q'
  /** dispatcher → worker: a disconnect notice for a connection this worker holds (no credit); payload. */
  NOTICE: 0x4e, // 'N'
  /** worker → dispatcher: a reply frame for request `id`; payload = the Mongrel2 reply message. */
  REPLY: 0x52, // 'R'
  /** worker → dispatcher: request `id` needs nothing more (one credit back). */
  DONE: 0x44, // 'D'
  /** worker → dispatcher: request `id` may be re-dispatched if this worker dies before replying. */
  RETRY_YES: 0x59, // 'Y'
  /** worker → dispatcher: request `id` must never be re-dispatched. */
  RETRY_NO: 0x4e, // 'N'
  /**
   * worker → dispatcher, in a HANDOVER: the worker still works on request `id` of the vanished dispatcher;
   * payload = its client connection, `SENDER SP CONN_ID` as in the request.
   */
  HELD: 0x48, // 'H'
  /** worker → dispatcher, in a HANDOVER: held request `id` needs nothing more (its replies came before). */
  ENDED: 0x45, // 'E'
  /**
   * worker → dispatcher, in a HANDOVER: not every reply frame of request `id` could be kept: close its client
   * connection (payload = the connection, as in HELD) rather than leave it with half a reply.
   */
  CUT: 0x43, // 'C'
} as const;

/** Bytes per index entry: tag (1), id (uint32 BE), server (uint16 BE), payload length (uint32 BE). */
export const ENTRY_BYTES = 11;

/** Tags whose entry is followed by a payload frame, per direction. */
export function toWorkerHasPayload(tag: number): boolean {
  return tag === Tag.REQUEST || tag === Tag.NOTICE;
}

/** Worker → dispatcher: only replies carry a payload. */
export function toDispatcherHasPayload(tag: number): boolean {
  return tag === Tag.REPLY;
}

/** Worker → dispatcher, in a HANDOVER: replies and holds carry a payload. */
export function handoverHasPayload(tag: number): boolean {
  return tag === Tag.REPLY || tag === Tag.HELD || tag === Tag.CUT;
}

/** HELLO body. */
export interface HelloBody {
  readonly v: number;
  /** Requests the worker takes at once (its credit). */
  readonly capacity: number;
  /** Requests it is still working on from an earlier registration (counted as used credit until their D). */
  readonly inFlight: number;
  readonly pid: number;
  readonly slot?: number | undefined;
  readonly generation?: number | undefined;
  /**
   * The instance of the dispatcher this worker was registered with when its connection dropped without a GOODBYE:
   * that dispatcher may have died, and the worker keeps replies for its requests (a HANDOVER follows the WELCOME
   * of a different instance).
   */
  readonly vanished?: string | undefined;
}

/** WELCOME body. */
export interface WelcomeBody {
  readonly v: number;
  /** Number of Mongrel2 servers (valid `server` values are 0 … servers-1). */
  readonly servers: number;
  /** Every Mongrel2 server is connected and subscribed. */
  readonly ready: boolean;
  /** How often the worker must PING. */
  readonly heartbeatMs: number;
  /** The largest message the dispatcher accepts from a worker (its `--max-message-bytes`); absent from older dispatchers. */
  readonly maxMessageBytes?: number;
  /** This dispatcher process (random, per start): a worker hands over only to a different instance. */
  readonly instance?: string | undefined;
}

/** GOODBYE body. */
export interface GoodbyeBody {
  /** The instance that stops. */
  readonly instance: string;
}

/** STATUS body. */
export interface StatusBody {
  readonly ready: boolean;
}

/** PING body. */
export interface PingBody {
  readonly inFlight: number;
}

/** Single-byte command frames, allocated once. */
const COMMAND_FRAMES = new Map<number, Buffer>(Object.values(Command).map((c) => [c, Buffer.from([c])]));

/** The frame of command `c`. */
export function commandFrame(c: number): Buffer {
  const frame = COMMAND_FRAMES.get(c);
  if (frame === undefined) throw new Error(`unknown command ${c}`);
  return frame;
}

/** A JSON body frame. */
export function jsonFrame(body: object): Buffer {
  return Buffer.from(JSON.stringify(body));
}

/** `SENDER SP CONN_ID` of a Mongrel2 request frame (a view, no copy); the whole frame if it has no second space. */
export function requestConnection(frame: Buffer): Buffer {
  const first = frame.indexOf(0x20);
  const second = first < 0 ? -1 : frame.indexOf(0x20, first + 1);
  return second < 0 ? frame : frame.subarray(0, second);
}

/** Parse a JSON body frame into an object, or undefined if it is not one. */
export function parseJsonFrame(frame: Buffer | undefined): Record<string, unknown> | undefined {
  if (frame === undefined || frame.length === 0 || frame.length > 4096) return undefined;
  try {
    const value: unknown = JSON.parse(frame.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A non-negative integer field of a parsed body, or `fallback`. */
export function intField(body: Record<string, unknown>, name: string, fallback: number): number {
  const v = body[name];
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fallback;
}

/**
 * Builds one outgoing batch: index entries and payloads, in order. `take()` returns the frames to send (and resets
 * the writer); the index grows by doubling, so a batch costs no allocation per entry besides the payload copy.
 */
export class BatchWriter {
  #index = Buffer.allocUnsafe(ENTRY_BYTES * 16);
  #length = 0;
  #payloads: Buffer[] = [];
  #payloadBytes = 0;

  /** Entries written since the last `take()`. */
  get entries(): number {
    return this.#length / ENTRY_BYTES;
  }

  /** Append an entry; `payload` only for tags that carry one. */
  add(tag: number, id: number, server: number, payload?: Buffer): void {
    if (this.#length + ENTRY_BYTES > this.#index.length) {
      const bigger = Buffer.allocUnsafe(this.#index.length * 2);
      this.#index.copy(bigger, 0, 0, this.#length);
      this.#index = bigger;
    }
    const at = this.#length;
    this.#index[at] = tag;
    this.#index.writeUInt32BE(id >>> 0, at + 1);
    this.#index.writeUInt16BE(server & 0xffff, at + 5);
    this.#index.writeUInt32BE(payload === undefined ? 0 : payload.length, at + 7);
    this.#length = at + ENTRY_BYTES;
    if (payload !== undefined) {
      this.#payloads.push(payload);
      this.#payloadBytes += payload.length;
    }
  }

  /** `[command B (or `command`: a HANDOVER or a PUSH has the same layout), index, data]`, then start a new batch. */
  take(command: number = Command.BATCH): Buffer[] {
    // Both frames are fresh copies: a sent Buffer must never be reused (zeromq.js sends large Buffers zero-copy).
    const index = Buffer.from(this.#index.subarray(0, this.#length));
    const data = Buffer.concat(this.#payloads, this.#payloadBytes);
    this.#length = 0;
    this.#payloads = [];
    this.#payloadBytes = 0;
    return [commandFrame(command), index, data];
  }
}

/** Called for every entry of a received batch; `payload` is undefined for entries without one. */
export type BatchVisitor = (tag: number, id: number, server: number, payload: Buffer | undefined) => void;

/**
 * Walk a received batch (`frames[offset]` is its B command frame). Payloads are views into the data frame (no
 * copy). Returns an error text for a malformed batch (entries before the problem were visited), else undefined.
 */
export function readBatch(frames: readonly Buffer[], offset: number, hasPayload: (tag: number) => boolean, visit: BatchVisitor): string | undefined {
  const index = frames[offset + 1];
  const data = frames[offset + 2];
  if (index === undefined || index.length % ENTRY_BYTES !== 0) return `batch index missing or not a multiple of ${ENTRY_BYTES} bytes`;
  if (data === undefined || frames.length !== offset + 3) return 'a batch has exactly three frames';
  let at = 0;
  for (let entry = 0; entry < index.length; entry += ENTRY_BYTES) {
    const tag = index[entry] as number;
    const id = index.readUInt32BE(entry + 1);
    const server = index.readUInt16BE(entry + 5);
    const length = index.readUInt32BE(entry + 7);
    let payload: Buffer | undefined;
    if (hasPayload(tag)) {
      if (at + length > data.length) return `batch entry ${entry / ENTRY_BYTES} runs past the data frame`;
      payload = data.subarray(at, at + length);
      at += length;
    } else if (length !== 0) {
      return `batch entry ${entry / ENTRY_BYTES} (tag ${tag}) must have no payload`;
    }
    visit(tag, id, server, payload);
  }
  return at === data.length ? undefined : `${data.length - at} data bytes without an index entry`;
}
