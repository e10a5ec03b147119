/**
 * `GatedOutlet`: lets the framework cut a handler off. After a timeout or an abort, the handler's late writes
 * are dropped, never sent; the framework's own answer (a 504) goes to the outlet behind the gate.
 * @module
 */

import type { ResponseOutlet } from '../http/outlet';
import type { ResponseHead } from '../http/response-head';

const NOTHING: Promise<number> = Promise.resolve(0);
const DONE: Promise<void> = Promise.resolve();

/**
 * Forwards to the inner outlet until `shut()`; afterwards every call resolves without doing anything.
 * The check is synchronous, so a call made before `shut()` always goes through.
 */
export class GatedOutlet implements ResponseOutlet {
  readonly #inner: ResponseOutlet;
  #open = true;

  constructor(inner: ResponseOutlet) {
    this.#inner = inner;
  }

  /** False once `shut()` was called. */
  get isOpen(): boolean {
    return this.#open;
  }

  get bytes(): number {
    return this.#inner.bytes;
  }

  get rawHttp(): boolean {
    return this.#inner.rawHttp;
  }

  get closed(): boolean {
    return this.#inner.closed;
  }

  /** Drop every later call. */
  shut(): void {
    this.#open = false;
  }

  send(head: ResponseHead, body: Buffer): Promise<number> {
    return this.#open ? this.#inner.send(head, body) : NOTHING;
  }

  open(head: ResponseHead, first: Buffer): Promise<number> {
    return this.#open ? this.#inner.open(head, first) : NOTHING;
  }

  chunk(data: Buffer): Promise<number> {
    return this.#open ? this.#inner.chunk(data) : NOTHING;
  }

  end(last: Buffer): Promise<number> {
    return this.#open ? this.#inner.end(last) : NOTHING;
  }

  write(data: Buffer): Promise<void> {
    return this.#open ? this.#inner.write(data) : DONE;
  }

  close(): Promise<void> {
    return this.#open ? this.#inner.close() : DONE;
  }
}
