/**
 * `FrameWriter`: the outbound side of one WebSocket handler invocation. Frames are batched: everything sent
 * in one turn of the event loop leaves as ONE Mongrel2 message (its body is written to the socket verbatim, so
 * concatenated frames stay valid). Mongrel2 closes a connection whose delivery queue holds more than 16
 * messages (docs/mongrel2.md §4.4); one message per frame would hit that with any burst.
 * @module
 */

import type { ReplySink } from '../http/sink';

/** Options of {@link FrameWriter}. */
export interface FrameWriterOptions {
  /**
   * Start flushing at once. A handshake starts paused so that frames sent by `open` follow the 101.
   * @default true
   */
  readonly started?: boolean;
  /** Called when the sink rejects a write or close (the runtime has already logged it). */
  readonly onError?: (err: unknown) => void;
}

/** Batches frames to a sink; a close frame ends the stream and is followed by Mongrel2's close message. */
export class FrameWriter {
  readonly #sink: ReplySink;
  readonly #onError: (err: unknown) => void;
  #pending: Buffer[] = [];
  #started: boolean;
  #scheduled = false;
  #closing = false;
  #closeSent = false;
  #chain: Promise<void> = Promise.resolve();

  constructor(sink: ReplySink, options: FrameWriterOptions = {}) {
    this.#sink = sink;
    this.#started = options.started ?? true;
    this.#onError = options.onError ?? ((): void => undefined);
  }

  /** True once a close frame was queued: later frames are dropped (RFC 6455 §5.5.1). */
  get closing(): boolean {
    return this.#closing;
  }

  /** Queue one encoded frame. Returns false (and drops it) after a close frame. */
  send(frame: Buffer): boolean {
    if (this.#closing) return false;
    this.#pending.push(frame);
    this.#schedule();
    return true;
  }

  /** Queue a close frame, then close the connection. Returns false when a close was already queued. */
  close(closeFrame: Buffer): boolean {
    if (this.#closing) return false;
    this.#closing = true;
    this.#pending.push(closeFrame);
    this.#schedule();
    return true;
  }

  /** Begin flushing (after the 101 of a handshake went out). */
  start(): void {
    this.#started = true;
    this.#schedule();
  }

  /** Hand everything queued so far to the sink; resolves once the sink accepted it (errors go to `onError`). */
  flush(): Promise<void> {
    if (!this.#started) return this.#chain;
    const data = this.#pending;
    this.#pending = [];
    const closeNow = this.#closing && !this.#closeSent;
    if (data.length === 0 && !closeNow) return this.#chain;
    if (closeNow) this.#closeSent = true;
    const bytes = data.length === 1 && data[0] !== undefined ? data[0] : Buffer.concat(data);
    this.#chain = this.#chain.then(async () => {
      if (bytes.length > 0) await this.#sink.write(bytes).catch(this.#onError);
      if (closeNow) await this.#sink.close().catch(this.#onError);
    });
    return this.#chain;
  }

  #schedule(): void {
    if (!this.#started || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.flush();
    });
  }
}
