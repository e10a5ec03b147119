/**
 * The `Date` header every response carries (RFC 9110 §6.6.1: an origin server with a clock sends it), in the
 * IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`). Its resolution is one second, so the line is built once
 * per second and reused: a response pays one `Date.now()` and a comparison.
 * @module
 */

let cachedSecond = Number.NaN;
let cachedLine = '';

/** The `Date: <IMF-fixdate>\r\n` header line for the time `nowMs` (epoch ms), built at most once per second. */
export function dateHeaderLine(nowMs: number = Date.now()): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    // toUTCString() is IMF-fixdate: day-name, DD month YYYY HH:MM:SS GMT.
    cachedLine = `Date: ${new Date(second * 1000).toUTCString()}\r\n`;
  }
  return cachedLine;
}
