/**
 * How values and errors become responses: a handler's return value, and the framework's error replies.
 * @module
 */

import { isHttpError } from '../http/http-error';
import { Response } from '../http/response';
import { statusText } from '../protocol/status-text';

/** An error as the client will see it. */
export interface ErrorReply {
  readonly status: number;
  /** Body text, or the `error` field when `details` is set. */
  readonly message: string;
  /** When set, the body is JSON `{ error: message, ...details }`. */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Map a thrown value to its reply. An `HttpError` keeps its status and headers; its message and details are
 * shown when `expose` (4xx by default) or `exposeErrors`. Anything else is a 500 whose message is shown
 * only with `exposeErrors`. Stacks are never part of a reply.
 */
export function errorReply(err: unknown, exposeErrors: boolean): ErrorReply {
  if (!isHttpError(err)) {
    return { status: 500, message: exposeErrors && err instanceof Error ? err.message : statusText(500) };
  }
  const expose = err.expose || exposeErrors;
  return {
    status: err.status,
    message: expose ? err.message : statusText(err.status),
    ...(expose && err.details !== undefined ? { details: err.details } : {}),
    ...(err.headers === undefined ? {} : { headers: err.headers }),
  };
}

/** Send `reply` on `res` (which must not have sent its head). */
export async function sendErrorReply(res: Response, reply: ErrorReply): Promise<void> {
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.header(name, value);
  if (reply.details === undefined) await res.text(reply.message, reply.status);
  else await res.json({ error: reply.message, ...reply.details }, reply.status);
}

/**
 * Send what a handler returned on `res` (not yet started): a string → text/plain, bytes →
 * application/octet-stream, `res` itself → sent as built with an empty body, anything else → JSON.
 */
export function sendReturnValue(res: Response, value: unknown): Promise<void> {
  // Not async: the sender's own promise is returned, no wrapper per request.
  if (typeof value === 'string') return res.text(value);
  if (value instanceof Response) {
    return value === res ? res.end() : Promise.reject(new TypeError('handler returned a Response other than ctx.res'));
  }
  if (value instanceof Uint8Array) return res.send(value);
  return res.json(value);
}
