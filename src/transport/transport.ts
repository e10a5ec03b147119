/**
 * The worker's view of "where requests come from and where replies go". The worker runtime only sees this
 * interface, so a credit-based dispatcher topology (zeromq-semantics.md §6.2) can replace the direct
 * Mongrel2 connection without touching the runtime.
 * @module
 */

/** One source of requests with its reply path (in the direct topology: one Mongrel2 server). */
export interface Link {
  /** Human-readable endpoint description, for logs. */
  readonly name: string;
  /**
   * The next inbound message, or `null` once the link stopped receiving. Only one call may be pending:
   * callers read one message at a time, which is how back-pressure reaches the sender.
   */
  receive(): Promise<Buffer | null>;
  /**
   * Send one reply frame. Resolves when the frame was handed to the socket; rejects (never silently drops)
   * when it cannot be handed over within the send timeout.
   */
  send(frame: Buffer): Promise<void>;
  /** Stop taking new messages. A pending `receive()` resolves `null`. */
  stopReceiving(): void;
}

/** A set of links with one lifecycle. */
export interface Transport {
  readonly links: readonly Link[];
  /** Connect every link; resolves once all are ready to receive and to reply, rejects after `timeoutMs`. */
  start(timeoutMs: number): Promise<void>;
  /** Number of links whose request and reply sockets are both connected right now. */
  connectedCount(): number;
  /** Stop receiving, flush replies (up to `lingerMs`), release the sockets. Idempotent. */
  close(lingerMs: number): Promise<void>;
}
