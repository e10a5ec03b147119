/**
 * Responses carry a `Date` header whose value changes every second: tests that compare whole header sets or
 * whole responses check it here (exactly one, a valid IMF-fixdate) and compare the rest exactly.
 */
import assert from 'node:assert/strict';

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

/** `headers` (a parsed header record) without `date`, after checking it is there once and valid. */
export function withoutDate<T extends Readonly<Record<string, unknown>>>(headers: T): Omit<T, 'date'> {
  const { date, ...rest } = headers;
  assertImfFixdate(date);
  return rest;
}

/** Raw response text (latin1) without its one `Date: ...\r\n` head line, after checking it. Other writes unchanged. */
export function withoutDateLine(text: string): string {
  if (!text.startsWith('HTTP/1.1 ')) return text;
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd < 0 ? text : text.slice(0, headEnd + 2);
  const lines = head.split('\r\n').filter((l) => /^date:/i.test(l));
  assert.equal(lines.length, 1, `expected one Date header in ${JSON.stringify(head)}`);
  assertImfFixdate(lines[0]!.slice(lines[0]!.indexOf(':') + 1).trim());
  return text.replace(`${lines[0]!}\r\n`, '');
}
