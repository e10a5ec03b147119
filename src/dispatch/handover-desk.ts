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
 * @module
 */
import { parseReply } from '../protocol/reply-writer';
import { Tag, handoverHasPayload, readBatch } from '../transport/dispatch-wire';
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
