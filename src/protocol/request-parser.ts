/**
 * Parses one Mongrel2 request message, `UUID SP ID SP PATH SP HEADERS BODY`, with either header protocol.
 * This is the hot path: it works on the Buffer, never decodes the whole message, and the body is a zero-copy view.
 * Spec: docs/mongrel2.md §2.
 * @module
 */
import { ProtocolError, quote } from '../errors';
import { TNET_TAG, decodeText, readFrame, setOwn } from './tnetstring';
import type { TnetFrame } from './tnetstring';
import type { HeaderValue, RawMessage } from './types';

const SPACE = 0x20;
const MAX_CONN_ID = 0xffffffff;

/**
 * Bounds on the header block, checked before any object is built. Mongrel2 itself refuses a request header
 * block over `limits.buffer_size` (4 KiB by default; 8 KiB is the most anyone configures) and more than
 * `limits.header_count` (1280) headers, and keeps at most 5 values of a repeated header (docs/mongrel2.md §2.4): a message beyond
 * these did not come from Mongrel2, and parsing it would only cost CPU and memory.
 */
export const HEADER_LIMITS = Object.freeze({
  /** Encoded size of the header block (JSON escaping and Mongrel2's own keys included). */
  maxBytes: 64 * 1024,
  /** Header values, counting each value of a repeated header. */
  maxValues: 1400,
  /** JSON nesting: the header object (1) holding arrays of repeated values (2). */
  maxJsonDepth: 2,
  /** The PATH field (Mongrel2's `limits.url_path` is 256): it is logged, so it is bounded too. */
  maxPathBytes: 8 * 1024,
});

/**
 * Parses a Mongrel2 request message (docs/mongrel2.md §2.1). Headers may be JSON (a `,` netstring) or a tnetstring dict (`}`);
 * values are decoded as UTF-8 when valid, otherwise latin1, and repeated headers are arrays. Messages without
 * METHOD (upload.stream continuations) are accepted; interpretation is left to `classify`.
 * `body` is a `subarray` of `buf`: it shares memory with it.
 * @throws ProtocolError with the byte offset of the first violation (including trailing bytes after the body).
 * @example parseMessage(Buffer.from('uuid 7 /p 16:6:METHOD,4:JSON,}0:,')).headers // { METHOD: 'JSON' }
 */
export function parseMessage(buf: Buffer): RawMessage {
  const sp1 = buf.indexOf(SPACE);
  if (sp1 < 0) throw new ProtocolError('missing space after sender', buf.length);
  if (sp1 === 0) throw new ProtocolError('empty sender', 0);
  checkSender(buf, sp1);
  const sp2 = buf.indexOf(SPACE, sp1 + 1);
  if (sp2 < 0) throw new ProtocolError('missing space after connection id', buf.length);
  const connId = parseConnId(buf, sp1 + 1, sp2);
  const sp3 = buf.indexOf(SPACE, sp2 + 1);
  if (sp3 < 0) throw new ProtocolError('missing space after path', buf.length);
  if (sp3 === sp2 + 1) throw new ProtocolError('empty path', sp3);
  if (sp3 - sp2 - 1 > HEADER_LIMITS.maxPathBytes) throw new ProtocolError(`path longer than ${HEADER_LIMITS.maxPathBytes} bytes`, sp2 + 1);

  const headersAt = sp3 + 1;
  const h = readFrame(buf, headersAt);
  if (h.end - h.start > HEADER_LIMITS.maxBytes) {
    throw new ProtocolError(`header block of ${h.end - h.start} bytes is over ${HEADER_LIMITS.maxBytes}`, h.start);
  }
  let headers: Record<string, HeaderValue>;
  let protocol: RawMessage['protocol'];
  if (h.tag === TNET_TAG.STRING) {
    headers = parseJsonHeaders(buf.subarray(h.start, h.end), h.start);
    protocol = 'json';
  } else if (h.tag === TNET_TAG.DICT) {
    headers = parseTnetHeaders(buf, h.start, h.end);
    protocol = 'tnetstring';
  } else {
    throw new ProtocolError("headers must be a JSON netstring (',') or a tnetstring dict ('}')", h.end);
  }

  const b = readFrame(buf, h.next);
  if (b.tag !== TNET_TAG.STRING) throw new ProtocolError("body must be a netstring (tag ',')", b.end);
  if (b.next !== buf.length) throw new ProtocolError(`${buf.length - b.next} trailing bytes after body`, b.next);

  return {
    sender: decodeText(buf.subarray(0, sp1)),
    connId,
    path: decodeText(buf.subarray(sp2 + 1, sp3)),
    headers,
    body: buf.subarray(b.start, b.end),
    protocol,
  };
}

/**
 * A reply is addressed by the sender, and Mongrel2 parses it as `[A-Za-z0-9-]+` (docs/mongrel2.md §4.1): a message whose sender
 * has any other byte could never be answered, so it is refused here, before any work is done for it.
 */
function checkSender(buf: Buffer, end: number): void {
  for (let i = 0; i < end; i++) {
    const c = buf[i]!;
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d;
    if (!ok) throw new ProtocolError(`sender byte 0x${c.toString(16).padStart(2, '0')} is outside [A-Za-z0-9-]: no reply could be addressed`, i);
  }
}

function parseConnId(buf: Buffer, start: number, end: number): number {
  if (start === end) throw new ProtocolError('empty connection id', start);
  if (end - start > 10) throw new ProtocolError('connection id longer than 10 digits', start);
  if (buf[start] === 0x30 && end - start > 1) throw new ProtocolError('connection id has a leading zero', start);
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]! - 0x30;
    if (c < 0 || c > 9) throw new ProtocolError('connection id must be decimal digits', i);
    n = n * 10 + c;
  }
  if (n > MAX_CONN_ID) throw new ProtocolError('connection id exceeds uint32', start);
  return n;
}

/** tnetstring headers: a dict whose values are strings or lists of strings (repeated headers, docs/mongrel2.md §2.4). */
function parseTnetHeaders(buf: Buffer, start: number, end: number): Record<string, HeaderValue> {
  // NOTE: one latin1 decode of the whole block, then substrings: much cheaper than one Buffer→string call per
  // key and value. Ranges holding bytes >= 0x80 are re-decoded with the UTF-8-else-latin1 rule.
  const text = buf.toString('latin1', start, end);
  const str = (f: TnetFrame): string => {
    for (let i = f.start; i < f.end; i++) {
      if (buf[i]! >= 0x80) return decodeText(buf.subarray(f.start, f.end));
    }
    return text.slice(f.start - start, f.end - start);
  };
  const out: Record<string, HeaderValue> = {};
  let values = 0;
  const count = (at: number): void => {
    if (++values > HEADER_LIMITS.maxValues) throw new ProtocolError(`more than ${HEADER_LIMITS.maxValues} header values`, at);
  };
  for (let i = start; i < end; ) {
    count(i);
    const k = readFrame(buf, i, end);
    if (k.tag !== TNET_TAG.STRING) throw new ProtocolError('header name must be a tnetstring string', i);
    if (k.next >= end) throw new ProtocolError('header has no value', k.next);
    const v = readFrame(buf, k.next, end);
    let value: HeaderValue;
    if (v.tag === TNET_TAG.STRING) {
      value = str(v);
    } else if (v.tag === TNET_TAG.LIST) {
      const list: string[] = [];
      for (let j = v.start; j < v.end; ) {
        const item = readFrame(buf, j, v.end);
        if (item.tag !== TNET_TAG.STRING) throw new ProtocolError('repeated header value must be a string', j);
        if (list.length > 0) count(j);
        list.push(str(item));
        j = item.next;
      }
      value = list;
    } else {
      throw new ProtocolError('header value must be a string or a list of strings', k.next);
    }
    setOwn(out, str(k), value);
    i = v.next;
  }
  return out;
}

/**
 * JSON headers (docs/mongrel2.md §2.5). Mongrel2 escapes only `\` and `"`, so the text may hold raw control bytes (TAB) and
 * non-UTF-8 bytes. Decode as latin1 (byte = char), escape raw bytes < 0x20 inside strings as `\u00XX`,
 * JSON.parse, then re-decode every string's bytes with the UTF-8-else-latin1 rule.
 */
function parseJsonHeaders(bytes: Buffer, offset: number): Record<string, HeaderValue> {
  let text = bytes.toString('latin1');
  let hasHigh = false;
  let hasControl = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c < 0x20) hasControl = true;
    else if (c >= 0x80) hasHigh = true;
  }
  checkJsonBounds(bytes, offset);
  if (hasControl) text = escapeControlsInStrings(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // V8's message quotes a piece of the input: keep at most 64 characters of it.
    throw new ProtocolError(`invalid JSON headers (${quote(err instanceof Error ? err.message : 'parse error')})`, offset);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ProtocolError('JSON headers must be an object', offset);
  }
  const fix = hasHigh ? redecodeLatin1 : (s: string): string => s;
  const out: Record<string, HeaderValue> = {};
  for (const [key, raw] of Object.entries(parsed)) {
    let value: HeaderValue;
    if (Array.isArray(raw)) {
      value = raw.map((item: unknown) => jsonScalar(item, key, offset, fix));
    } else {
      value = jsonScalar(raw, key, offset, fix);
    }
    setOwn(out, fix(key), value);
  }
  return out;
}

function jsonScalar(v: unknown, key: string, offset: number, fix: (s: string) => string): string {
  if (typeof v === 'string') return fix(v);
  // NOTE: Mongrel2 sends strings only; a finite number is tolerated (stringified) rather than dropping the message.
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new ProtocolError(`JSON header ${quote(key)} must be a string or an array of strings`, offset);
}

/**
 * One pass over the raw JSON bytes, before JSON.parse builds anything: nesting deeper than
 * {@link HEADER_LIMITS.maxJsonDepth} or more than {@link HEADER_LIMITS.maxValues} values is refused. Values are
 * counted by the commas outside strings (an over-estimate by the number of keys, which is what the bound is for).
 */
function checkJsonBounds(bytes: Buffer, offset: number): void {
  let depth = 0;
  let commas = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > HEADER_LIMITS.maxJsonDepth) throw new ProtocolError(`JSON headers nested deeper than ${HEADER_LIMITS.maxJsonDepth}`, offset + i);
    } else if (c === 0x7d || c === 0x5d) {
      depth -= 1;
    } else if (c === 0x2c && ++commas >= HEADER_LIMITS.maxValues) {
      throw new ProtocolError(`more than ${HEADER_LIMITS.maxValues} JSON header values`, offset + i);
    }
  }
}

/** Re-decodes a latin1-decoded string as UTF-8 when its bytes are valid UTF-8. */
function redecodeLatin1(s: string): string {
  let high = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A char above 0xFF can only come from a JSON \u escape: the string is already proper text.
    if (c > 0xff) return s;
    if (c >= 0x80) high = true;
  }
  return high ? decodeText(Buffer.from(s, 'latin1')) : s;
}

function escapeControlsInStrings(text: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!inString) {
      if (c === 0x22) inString = true;
    } else if (c === 0x5c) {
      i++; // skip the escaped char; a raw control char after '\' stays invalid JSON
    } else if (c === 0x22) {
      inString = false;
    } else if (c < 0x20) {
      out += `${text.slice(last, i)}\\u00${c.toString(16).padStart(2, '0')}`;
      last = i + 1;
    }
  }
  return out + text.slice(last);
}
