/**
 * The Server-Sent Events wire format (WHATWG HTML "Server-sent events", §9.2.5): `id`, `event`, `retry` and one
 * `data` line per line of the text, then a blank line; a comment line (`:`) is what heartbeats send.
 * @module
 */

/** One event. `data` may hold several lines (each becomes a `data:` line). */
export interface SseEvent {
  readonly data: string;
  readonly event?: string;
  readonly id?: string;
  /** Reconnection time the client should use, in ms. */
  readonly retry?: number;
}

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * The bytes of one event.
 * @throws TypeError when `event` or `id` contains a line break (or `id` a NUL, which clients ignore the field for).
 * @example formatSseEvent({ event: 'msg', data: 'a\nb' }).toString() // 'event: msg\ndata: a\ndata: b\n\n'
 */
export function formatSseEvent(event: SseEvent): Buffer {
  let out = '';
  if (event.id !== undefined) {
    if (LINE_BREAK.test(event.id) || event.id.includes('\0')) throw new TypeError('an SSE id may not contain a line break or NUL');
    out += `id: ${event.id}\n`;
  }
  if (event.event !== undefined) {
    if (LINE_BREAK.test(event.event)) throw new TypeError('an SSE event name may not contain a line break');
    out += `event: ${event.event}\n`;
  }
  if (event.retry !== undefined && Number.isSafeInteger(event.retry) && event.retry >= 0) out += `retry: ${event.retry}\n`;
  for (const line of event.data.split(LINE_BREAK)) out += `data: ${line}\n`;
  return Buffer.from(`${out}\n`, 'utf8');
}

/** A comment line: clients ignore it, proxies and idle timers see traffic. */
export function sseComment(text = ''): Buffer {
  return Buffer.from(`:${text.replace(/[\r\n]/g, ' ')}\n\n`, 'utf8');
}
