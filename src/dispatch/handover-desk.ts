/**
 * Where a dispatcher takes over what its crashed predecessor left at the workers (docs/dispatch-protocol.md,
 * "Dispatcher crash"). A worker whose dispatcher vanished sends HANDOVER messages to the next instance: REPLY
 * entries (reply frames of the dead dispatcher's requests, forwarded to their Mongrel2 as they are), HELD (a
 * request the worker still works on: its connection must not be swept, and is closed if that worker is lost),
 * ENDED (a held request finished) and CUT (its reply could not all be kept: close the connection).
 *
 * These requests were never handed out by this dispatcher, so they cannot pass the ordinary reply check; the
 * hand-over is accepted because it is a command of its own that only a registered worker (authenticated like any
 * worker: CURVE on tcp, the socket's file permissions on ipc) may send, and a worker sends it only for requests
 * of an instance that dropped without a GOODBYE and is not the one that welcomed it. A reply frame is forwarded
 * only if it parses as a Mongrel2 reply for a server this dispatcher has.
 *
 * Leftovers: replies a worker sent in the instant between the crash and noticing it stayed in its DEALER's pipe
 * (libzmq keeps a connecting socket's pipe across reconnections) and arrive here as ordinary batches on its new
 * connection, before its HELLO. None of them reached the dead dispatcher (a message is either still in the pipe
 * or was written to the dead socket, never both), so when that HELLO names a vanished predecessor they are taken
 * over too: a request whose first leftover frame starts an HTTP response (or closes the connection) is forwarded
 * whole; any other (the rest of a reply whose start went to the dead dispatcher) has its connection closed.
 * @module
 */
import { parseReply } from '../protocol/reply-writer';
import { Tag, handoverHasPayload, readBatch, toDispatcherHasPayload } from '../transport/dispatch-wire';
import { peekConnection } from './frame-peek';
import type { DispatcherStats } from './stats';

/** One request a worker still holds for the dead dispatcher. */
interface Hold {
  readonly server: number;
  /** `SENDER SP CONN_ID`. */
  readonly connection: string;
  /** A reply frame of it was forwarded. */
  started: boolean;
}

/** What the desk asks of the dispatcher. */
export interface HandoverEffects {
  /** Mongrel2 servers configured (valid server indexes are 0 … servers-1). */
  readonly servers: number;
  /** Forward a reply frame to Mongrel2 server `server`. */
  forward(server: number, frame: Buffer): void;
  /** Close a client connection: `error` = 503 with Retry-After first (no reply byte went out), `close` = just close. */
  close(server: number, connection: string, action: 'error' | 'close'): void;
  /** A connection of server `server` (`SENDER SP CONN_ID`) is being answered through this dispatcher. */
  touched(server: number, connection: string): void;
}

/** The dispatcher's side of the hand-over. */
export class HandoverDesk {
  readonly #effects: HandoverEffects;
  readonly #stats: DispatcherStats;
  /** Per worker key: its held requests by the dead dispatcher's request id. */
  readonly #holds = new Map<string, Map<number, Hold>>();
  /** Batches of new connections that came before their HELLO (see the module comment), bounded. */
  readonly #leftovers = new Map<string, { at: number; frames: Array<readonly Buffer[]>; bytes: number }>();
  /** Bytes held in {@link #leftovers}, over every connection. */
  #leftoverBytes = 0;

  constructor(effects: HandoverEffects, stats: DispatcherStats) {
    this.#effects = effects;
    this.#stats = stats;
  }

  /** Requests held by workers for a dead dispatcher. */
  get held(): number {
    let n = 0;
    for (const h of this.#holds.values()) n += h.size;
    return n;
  }

  /** A HANDOVER from registered worker `key` (`frames[0]` is its command frame). Returns an error text for a malformed one. */
  accept(key: string, frames: readonly Buffer[]): string | undefined {
    let holds = this.#holds.get(key);
    return readBatch(frames, 0, handoverHasPayload, (tag, id, server, payload) => {
      if (server >= this.#effects.servers) {
        this.#stats.recovered('refused');
        return;
      }
      switch (tag) {
        case Tag.REPLY: {
          if (payload === undefined || !this.#isReply(server, payload)) return;
          const hold = holds?.get(id);
          if (hold !== undefined) hold.started = true;
          this.#effects.forward(server, payload);
          this.#stats.recovered('handed-over');
          return;
        }
        case Tag.HELD: {
          const connection = payload === undefined ? undefined : peekConnection(Buffer.concat([payload, SPACE]))?.connection;
          if (connection === undefined) {
            this.#stats.recovered('refused');
            return;
          }
          if (holds === undefined) this.#holds.set(key, (holds = new Map()));
          holds.set(id, { server, connection, started: false });
          this.#effects.touched(server, connection);
          this.#stats.recovered('held');
          return;
        }
        case Tag.ENDED:
          holds?.delete(id);
          return;
        case Tag.CUT: {
          const connection = payload === undefined ? undefined : peekConnection(Buffer.concat([payload, SPACE]))?.connection;
          holds?.delete(id);
          if (connection === undefined) {
            this.#stats.recovered('refused');
            return;
          }
          this.#effects.close(server, connection, 'close');
          this.#stats.recovered('cut');
          return;
        }
        default:
          this.#stats.recovered('refused');
      }
    });
  }

  /**
   * A batch from a connection that has not said HELLO. Kept (true) while that connection sent nothing else, within
   * bounds (64 connections, 64 batches each, 16 MiB in all, 5 s until its HELLO); false: answer it as unknown.
   */
  offerLeftover(key: string, frames: readonly Buffer[], now: number): boolean {
    for (const [k, v] of this.#leftovers) if (now - v.at > LEFTOVER_MS) this.#dropLeftover(k);
    let entry = this.#leftovers.get(key);
    if (entry === undefined) {
      if (this.#leftovers.size >= LEFTOVER_CONNECTIONS) return false;
      this.#leftovers.set(key, (entry = { at: now, frames: [], bytes: 0 }));
    }
    const bytes = frames.reduce((n, f) => n + f.length, 0);
    if (entry.frames.length >= LEFTOVER_BATCHES || this.#leftoverBytes + bytes > LEFTOVER_BYTES) return false;
    entry.frames.push(frames);
    entry.bytes += bytes;
    this.#leftoverBytes += bytes;
    return true;
  }

  #dropLeftover(key: string): void {
    const entry = this.#leftovers.get(key);
    if (entry === undefined) return;
    this.#leftoverBytes -= entry.bytes;
    this.#leftovers.delete(key);
  }

  /**
   * Connection `key` said HELLO: if it named a vanished predecessor, its leftover batches are taken over; else
   * they are dropped (returned: how many replies were dropped).
   */
  helloFrom(key: string, predecessorVanished: boolean): number {
    const entry = this.#leftovers.get(key);
    this.#dropLeftover(key);
    if (entry === undefined) return 0;
    const replies = new Map<number, Array<{ server: number; frame: Buffer }>>();
    for (const frames of entry.frames) {
      readBatch(frames, 0, toDispatcherHasPayload, (tag, id, server, payload) => {
        if (tag !== Tag.REPLY || payload === undefined) return;
        let list = replies.get(id);
        if (list === undefined) replies.set(id, (list = []));
        list.push({ server, frame: payload });
      });
    }
    if (!predecessorVanished) return [...replies.values()].reduce((n, l) => n + l.length, 0);
    for (const frames of replies.values()) this.#takeOver(frames);
    return 0;
  }

  /** The leftover reply frames of one request, in order. */
  #takeOver(frames: ReadonlyArray<{ server: number; frame: Buffer }>): void {
    const first = frames[0];
    if (first === undefined) return;
    if (first.server >= this.#effects.servers) {
      this.#stats.recovered('refused');
      return;
    }
    let start;
    try {
      start = parseReply(first.frame);
    } catch {
      this.#stats.recovered('refused');
      return;
    }
    if (start.extended || !(start.body.length === 0 || start.body.subarray(0, 5).equals(HTTP))) {
      for (const id of start.connIds) this.#effects.close(first.server, `${start.sender} ${id}`, 'close');
      this.#stats.recovered('cut');
      return;
    }
    for (const { server, frame } of frames) {
      if (server >= this.#effects.servers || !this.#isReply(server, frame)) continue;
      this.#effects.forward(server, frame);
      this.#stats.recovered('handed-over');
    }
  }

  /** Worker `key` is gone: the clients of what it held get a 503 (nothing sent yet) or a close. */
  workerLost(key: string): void {
    const holds = this.#holds.get(key);
    if (holds === undefined) return;
    this.#holds.delete(key);
    for (const hold of holds.values()) {
      this.#effects.close(hold.server, hold.connection, hold.started ? 'close' : 'error');
      this.#stats.recovered('holder-lost');
    }
  }

  #isReply(server: number, frame: Buffer): boolean {
    let ids: readonly number[];
    let sender: string;
    try {
      const parsed = parseReply(frame);
      ids = parsed.connIds;
      sender = parsed.sender;
    } catch {
      this.#stats.recovered('refused');
      return false;
    }
    for (const id of ids) this.#effects.touched(server, `${sender} ${id}`);
    return true;
  }
}

const SPACE = Buffer.from(' ');
const HTTP = Buffer.from('HTTP/');
/** Bounds of the leftover batches (see {@link HandoverDesk.offerLeftover}); the bytes are over all connections. */
const LEFTOVER_MS = 5_000;
const LEFTOVER_CONNECTIONS = 64;
const LEFTOVER_BATCHES = 64;
const LEFTOVER_BYTES = 16 * 1024 * 1024;
