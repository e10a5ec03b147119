/**
 * The seam between the transport-free app and whatever carries bytes to the client
 * (the Mongrel2 transport in a worker, an in-memory collector in `app.request()`).
 * @module
 */

/** Where a response's bytes go. Data is already HTTP-framed (status line, headers, body or chunks). */
export interface ReplySink {
  /** Send bytes to the client connection. Resolves when the transport has accepted them. */
  write(data: Buffer): Promise<void>;
  /** Close the client connection after everything written so far (Mongrel2's empty message). */
  close(): Promise<void>;
}
