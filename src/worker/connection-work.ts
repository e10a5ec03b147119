/**
 * The in-flight requests and messages of every client connection, so a disconnect notice can cancel that
 * connection's work (docs/mongrel2.md §3.2) and the connections waiting longest can be reported. Almost every
 * connection has one request in flight at a time, so a connection's entries are a short linked list under its
 * key: one small object per request, not a Map per connection built and dropped with each request.
 * @module
 */
import type { Cancellation } from '../app/cancellation';

/** One request's (or message's) entry. */
class Work {
  constructor(
    readonly aborter: Cancellation,
    /** `performance.now()` when it started. */
    readonly started: number,
    public next: Work | undefined,
  ) {}
}

/** In-flight work by connection key. */
export class ConnectionWork {
  readonly #byKey = new Map<string, Work>();

  /** Connections with work in flight. */
  get size(): number {
    return this.#byKey.size;
  }

  add(key: string, aborter: Cancellation, started: number): void {
    this.#byKey.set(key, new Work(aborter, started, this.#byKey.get(key)));
  }

  remove(key: string, aborter: Cancellation): void {
    let previous: Work | undefined;
    for (let w = this.#byKey.get(key); w !== undefined; previous = w, w = w.next) {
      if (w.aborter !== aborter) continue;
      if (previous !== undefined) previous.next = w.next;
      else if (w.next !== undefined) this.#byKey.set(key, w.next);
      else this.#byKey.delete(key);
      return;
    }
  }

  /** Abort every entry of connection `key` with `reason`; returns how many there were. */
  abort(key: string, reason: unknown): number {
    let n = 0;
    for (let w = this.#byKey.get(key); w !== undefined; w = w.next) {
      w.aborter.abort(reason);
      n += 1;
    }
    return n;
  }

  /** Abort every entry of every connection, each with its own `reason()`. */
  abortAll(reason: () => unknown): void {
    for (const head of [...this.#byKey.values()]) {
      for (let w: Work | undefined = head; w !== undefined; w = w.next) w.aborter.abort(reason());
    }
  }

  /** Keys of connections with an entry that started at or before `before`. */
  startedBy(before: number): string[] {
    const keys: string[] = [];
    for (const [key, head] of this.#byKey) {
      for (let w: Work | undefined = head; w !== undefined; w = w.next) {
        if (w.started <= before) {
          keys.push(key);
          break;
        }
      }
    }
    return keys;
  }
}
