/**
 * What a dispatch-topology worker keeps for a dispatcher that vanished (docs/dispatch-protocol.md, "Dispatcher
 * crash"): the replies of its requests that finished after the connection dropped, and "cut" marks for requests
 * whose replies could not all be kept. They wait here until a different dispatcher instance welcomes the worker,
 * which forwards them to Mongrel2 (a HANDOVER message). Bounded in entries, bytes and age: past a bound a reply
 * is refused (its request is then cut: its client's connection is closed rather than sent half a reply), and at
 * the hand-over entries older than the age bound are dropped (by then the successor's sweep has closed their
 * connections, docs/runbook.md).
 * @module
 */
import { Tag } from './dispatch-wire';

/** Bounds of a {@link HandoverStore}. */
export interface HandoverLimits {
  /** Entries kept at most (reply frames and cut marks). */
  readonly maxEntries: number;
  /** Reply bytes kept at most. */
  readonly maxBytes: number;
  /** An entry older than this is dropped instead of handed over. */
  readonly maxAgeMs: number;
}

/**
 * The bounds every worker uses: a dispatcher crash is rare and its successor is up within a second or two, so
 * these only have to cover the replies finished in that gap (a few per in-flight slot), while a worker whose
 * dispatcher never comes back cannot grow without limit.
 */
export const HANDOVER_LIMITS: HandoverLimits = { maxEntries: 4_096, maxBytes: 16 * 1024 * 1024, maxAgeMs: 30_000 };

/** One kept entry: a REPLY (with its frame) or a CUT of a request of dispatcher `instance`. */
export interface HandoverEntry {
  readonly tag: number;
  readonly id: number;
  readonly server: number;
  readonly payload: Buffer | undefined;
  readonly instance: string;
  readonly at: number;
}

/** The bounded list of entries waiting for a successor dispatcher. */
export class HandoverStore {
  readonly #limits: HandoverLimits;
  #entries: HandoverEntry[] = [];
  #bytes = 0;
  /** Requests a reply frame of which was refused or dropped: their later frames are refused too. */
  readonly #gone = new Set<number>();
  /** Replies refused by a bound or dropped for age, since start. */
  dropped = 0;

  constructor(limits: HandoverLimits = HANDOVER_LIMITS) {
    this.#limits = limits;
  }

  /** Entries waiting. */
  get size(): number {
    return this.#entries.length;
  }

  /** Keep a reply frame; false (and counted) if a bound refuses it, or refused an earlier frame of its request. */
  keepReply(id: number, server: number, frame: Buffer, instance: string, now: number): boolean {
    this.#expire(now);
    if (this.#gone.has(id) || this.#entries.length >= this.#limits.maxEntries || this.#bytes + frame.length > this.#limits.maxBytes) {
      this.#gone.add(id);
      this.dropped += 1;
      return false;
    }
    // A copy: the frame may be a view into a buffer the app reuses.
    this.#entries.push({ tag: Tag.REPLY, id, server, payload: Buffer.from(frame), instance, at: now });
    this.#bytes += frame.length;
    return true;
  }

  /** Keep a mark without payload (a CUT, an END); never refused: its request's replies were. */
  keepMark(tag: number, id: number, server: number, payload: Buffer | undefined, instance: string, now: number): void {
    this.#entries.push({ tag, id, server, payload, instance, at: now });
  }

  /** Everything kept, oldest first, minus what aged out (counted); the store is empty afterwards. */
  take(now: number): HandoverEntry[] {
    this.#expire(now);
    const out = this.#entries;
    this.#entries = [];
    this.#bytes = 0;
    // A request whose frame was refused is cut by the link (a CUT entry); what is handed over here never needs
    // the refusals again. (Bounds this set.)
    this.#gone.clear();
    return out;
  }

  /** Forget the entries of dispatcher `instance` (it said GOODBYE: it answered those requests itself). */
  forget(instance: string): void {
    this.#entries = this.#entries.filter((e) => e.instance !== instance);
    this.#bytes = this.#entries.reduce((n, e) => n + (e.tag === Tag.REPLY ? (e.payload?.length ?? 0) : 0), 0);
  }

  /** Drop entries past the age bound, with every later reply of their requests (never half a reply). */
  #expire(now: number): void {
    const oldest = now - this.#limits.maxAgeMs;
    if (this.#entries.length === 0 || (this.#entries[0] as HandoverEntry).at >= oldest) return;
    const gone = new Set<number>();
    const keep: HandoverEntry[] = [];
    for (const e of this.#entries) {
      if (e.at < oldest || gone.has(e.id)) {
        gone.add(e.id);
        this.#gone.add(e.id);
        if (e.tag === Tag.REPLY) {
          this.#bytes -= e.payload?.length ?? 0;
          this.dropped += 1;
        }
      } else {
        keep.push(e);
      }
    }
    this.#entries = keep;
  }
}
