/**
 * Sink wrappers used by `dispatch`: one counts what reached the transport, one lets the framework cut a
 * handler off (after a timeout or an abort, the handler's late writes are dropped, never sent).
 * @module
 */

import type { ReplySink } from '../http/sink';

/** Counts bytes the inner sink accepted and records whether it accepted a close. */
export class CountingSink implements ReplySink {
  readonly #inner: ReplySink;
  #bytes = 0;
  #closed = false;

  constructor(inner: ReplySink) {
    this.#inner = inner;
  }

  /** Bytes accepted so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether a close was accepted. */
  get closed(): boolean {
    return this.#closed;
  }

  // Not async functions: one `then` per call instead of a wrapper promise and an await.
  write(data: Buffer): Promise<void> {
    return this.#inner.write(data).then(() => {
      this.#bytes += data.length;
    });
  }

  close(): Promise<void> {
    return this.#inner.close().then(() => {
      this.#closed = true;
    });
  }
}

/**
 * Forwards to the inner sink until `shut()`; afterwards writes and closes resolve without doing anything.
 * The check is synchronous, so a write issued before `shut()` always goes through.
 */
export class GatedSink implements ReplySink {
  readonly #inner: ReplySink;
  #open = true;

  constructor(inner: ReplySink) {
    this.#inner = inner;
  }

  /** False once `shut()` was called. */
  get open(): boolean {
    return this.#open;
  }

  /** Drop every later write and close. */
  shut(): void {
    this.#open = false;
  }

  write(data: Buffer): Promise<void> {
    return this.#open ? this.#inner.write(data) : Promise.resolve();
  }

  close(): Promise<void> {
    return this.#open ? this.#inner.close() : Promise.resolve();
  }
}
