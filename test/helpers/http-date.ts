/**
 * Responses carry a `Date` header whose value changes every second, and an app's responses an `X-Request-Id` that
 * changes with every request: tests that compare whole header sets or whole responses check them here (exactly one
 * valid IMF-fixdate; at most one valid request id) and compare the rest exactly.
 */
import assert from 'node:assert/strict';
import { isValidRequestId } from '../../src/protocol/request-id';

/** RFC 9110 §5.6.7 IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. */
export const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** Bytes of a `Date: <IMF-fixdate>\r\n` head line (the date itself is always 29 characters). */
export const DATE_LINE_BYTES = 'Date: '.length + 29 + 2;

/** Assert `value` is an IMF-fixdate that round-trips through `Date` (a real calendar date). */
export function assertImfFixdate(value: unknown): void {
  assert.equal(typeof value, 'string', 'Date header is missing or repeated');
  assert.match(value as string, IMF_FIXDATE);
  assert.equal(new Date(value as string).toUTCString(), value);
}

/** `headers` (a parsed header record) without `date` and `x-request-id`, after checking them (see the module comment). */
export function withoutDate<T extends Readonly<Record<string, unknown>>>(headers: T): Omit<T, 'date' | 'x-request-id'> {
  const { date, 'x-request-id': requestId, ...rest } = headers;
  assertImfFixdate(date);
  if (requestId !== undefined) assert.ok(typeof requestId === 'string' && isValidRequestId(requestId), `bad x-request-id ${String(requestId)}`);
  return rest;
}

/** Bytes of the `X-Request-Id: …\r\n` head line of a response carrying request id `id`. */
export function requestIdLineBytes(id: string): number {
  return 'X-Request-Id: '.length + id.length + 2;
}

/** Raw response text (latin1) without its one `Date: ...\r\n` head line, after checking it. Other writes unchanged. */
export function withoutDateLine(text: string): string {
  if (!text.startsWith('HTTP/1.1 ')) return text;
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd < 0 ? text : text.slice(0, headEnd + 2);
  const lines = head.split('\r\n').filter((l) => /^date:/i.test(l));
  assert.equal(lines.length, 1, `expected one Date header in ${JSON.stringify(head)}`);
  assertImfFixdate(lines[0]!.slice(lines[0]!.indexOf(':') + 1).trim());
  const ids = head.split('\r\n').filter((l) => /^x-request-id:/i.test(l));
  assert.ok(ids.length <= 1, `expected at most one X-Request-Id in ${JSON.stringify(head)}`);
  const withoutId = ids[0] === undefined ? text : text.replace(`${ids[0]}\r\n`, '');
  return withoutId.replace(`${lines[0]!}\r\n`, '');
}
