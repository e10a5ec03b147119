/**
 * `HttpError`: throw it from a handler (or from `req.json()`) to answer with a 4xx/5xx status.
 * @module
 */

import { statusText } from '../protocol/status-text';

/** Options of {@link HttpError}. */
export interface HttpErrorOptions {
  /** Whether `message` may be shown to the client. @default true for 4xx, false for 5xx */
  readonly expose?: boolean;
  /**
   * Extra data for the client. When it is set, the framework answers `application/json`
   * `{ "error": message, ...details }` instead of a plain-text body.
   */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Headers to add to the error response, e.g. `Allow` for a 405 or `WWW-Authenticate` for a 401. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/**
 * An error that maps to an HTTP status. 4xx messages are exposed to the client by default; 5xx messages
 * are not (the client sees the status text, the log gets the message).
 * @example
 * throw new HttpError(404, 'no such user');
 */
export class HttpError extends Error {
  /** HTTP status, 400–599. */
  readonly status: number;
  /** Whether `message` may be shown to the client. */
  readonly expose: boolean;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;

  /** @param message defaults to the status text (`Not Found`). */
  constructor(status: number, message?: string, options: HttpErrorOptions = {}) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`HttpError status must be an integer in 400..599, got ${status}`);
    }
    super(message ?? (statusText(status) || 'Error'), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.expose = options.expose ?? status < 500;
    if (options.details !== undefined) this.details = options.details;
    if (options.headers !== undefined) this.headers = options.headers;
  }
}

/** Narrow an unknown caught value to an {@link HttpError}. */
export function isHttpError(err: unknown): err is HttpError {
  return err instanceof HttpError;
}
