/**
 * tnetstring codec (https://tnetstrings.info/): `SIZE ":" DATA TAG`, SIZE = `[0-9]{1,9}`.
 * Pure and Buffer-based; every malformed input raises a {@link ProtocolError} carrying the absolute byte offset.
 * Spec: docs/mongrel2.md §2.1, §4.5.
 * @module
 */
import { isUtf8 } from 'node:buffer';
import { ErrorCode, M2PoolError, ProtocolError } from '../errors';

/**
 * A decoded tnetstring value. Strings (`,`) decode to Buffers because tnetstring strings are bytes;
 * integers (`#`) decode to `number` when they are safe integers and to `bigint` otherwise.
 */
export type TnetValue = Buffer | number | bigint | boolean | null | TnetValue[] | { [key: string]: TnetValue };

/** Values {@link encode} accepts: a {@link TnetValue}, plus JS strings (encoded as UTF-8) in any position. */
export type TnetInput =
  | TnetValue
  | string
  | Uint8Array
  | readonly TnetInput[]
  | { readonly [key: string]: TnetInput };

/** Options for {@link decode} and {@link decodeAll}. */
export interface DecodeOptions {
  /**
   * Maximum number of nested containers (lists/dicts). The top-level container is depth 1.
   * @default 32
   */
  readonly maxDepth?: number | undefined;
}

/** The framing of one tnetstring element, without interpreting its payload. */
export interface TnetFrame {
  /** The type tag byte (e.g. 0x2c for `,`). */
  readonly tag: number;
  /** Offset of the first payload byte. */
  readonly start: number;
  /** Offset just past the payload (= offset of the tag byte). */
  readonly end: number;
  /** Offset just past the tag: where the next element starts. */
  readonly next: number;
}

/** Tag bytes of the tnetstring types. */
export const TNET_TAG = {
  STRING: 0x2c, // ,
  INTEGER: 0x23, // #
  FLOAT: 0x5e, // ^
  BOOLEAN: 0x21, // !
  NULL: 0x7e, // ~
  DICT: 0x7d, // }
  LIST: 0x5d, // ]
} as const;

/** Default nesting limit of {@link decode}. */
export const DEFAULT_MAX_DEPTH = 32;
/** Hard ceiling for `maxDepth`, so that recursion can never exhaust the JS stack. */
const DEPTH_CEILING = 1000;
/** Longest accepted `#`/`^` payload; bounds the cost of BigInt parsing on hostile input. */
const MAX_NUMBER_CHARS = 4096;
const MAX_SIZE_DIGITS = 9;
const COLON = 0x3a;
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE_RE = /^([+-]?)(inf|infinity|nan)$/i;

/**
 * Reads the length prefix, colon and tag of the element at `offset`, which must end at or before `limit`.
 * Leading zeros in SIZE are accepted (the grammar is `[0-9]{1,9}`). The tag is returned unchecked.
 * @throws ProtocolError on a bad length prefix, a truncated payload or a missing tag.
 */
export function readFrame(buf: Buffer, offset: number, limit: number = buf.length): TnetFrame {
  let i = offset;
  if (i >= limit) throw new ProtocolError('expected a tnetstring length prefix, found end of input', i);
  let len = 0;
  for (; i < limit; i++) {
    const c = buf[i]! - 0x30;
    if (c < 0 || c > 9) break;
    if (i - offset === MAX_SIZE_DIGITS) throw new ProtocolError('tnetstring length prefix longer than 9 digits', i);
    len = len * 10 + c;
  }
  if (i === offset) throw new ProtocolError('invalid tnetstring length prefix (expected a digit)', i);
  if (i >= limit) throw new ProtocolError('truncated tnetstring length prefix', i);
  if (buf[i] !== COLON) throw new ProtocolError("expected ':' after tnetstring length", i);
  const start = i + 1;
  const end = start + len;
  if (end > limit) throw new ProtocolError(`truncated tnetstring payload (${len} bytes declared)`, limit);
  if (end === limit) throw new ProtocolError('missing tnetstring type tag', limit);
  return { tag: buf[end]!, start, end, next: end + 1 };
}

/**
 * Turns string bytes into JS text: UTF-8 when the bytes are valid UTF-8, otherwise latin1 (one char per byte),
 * so that no byte is ever replaced or lost. This is the rule for Mongrel2 header values and dict keys.
 */
export function decodeText(bytes: Buffer): string {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
  }
  return bytes.toString('latin1');
}

/**
 * Decodes one tnetstring starting at `offset` and returns it with `end`, the offset just past it
 * (the start of the remainder). `,` strings are zero-copy `subarray` views that share memory with `buf`.
 * Dict keys are decoded with {@link decodeText}; a repeated key keeps its last value.
 * @throws ProtocolError with the exact byte offset of the first problem.
 * @example decode(Buffer.from('5:hello,rest')) // { value: <Buffer 68 65 6c 6c 6f>, end: 8 }
 */
export function decode(buf: Buffer, offset = 0, opts: DecodeOptions = {}): { value: TnetValue; end: number } {
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.length) {
    throw new RangeError(`offset ${offset} is outside the buffer (length ${buf.length})`);
  }
  const frame = readFrame(buf, offset, buf.length);
  return { value: decodeFrame(buf, frame, offset, 0, resolveMaxDepth(opts)), end: frame.next };
}

/**
 * Decodes a buffer that must hold exactly one tnetstring.
 * @throws ProtocolError also when bytes follow the value (offset = first trailing byte).
 */
export function decodeAll(buf: Buffer, opts: DecodeOptions = {}): TnetValue {
  const { value, end } = decode(buf, 0, opts);
  if (end !== buf.length) throw new ProtocolError(`${buf.length - end} trailing bytes after tnetstring`, end);
  return value;
}

function resolveMaxDepth(opts: DecodeOptions): number {
  const d = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isInteger(d) || d < 0 || d > DEPTH_CEILING) {
    throw new RangeError(`maxDepth must be an integer between 0 and ${DEPTH_CEILING}, got ${d}`);
  }
  return d;
}

function decodeFrame(buf: Buffer, f: TnetFrame, at: number, depth: number, maxDepth: number): TnetValue {
  switch (f.tag) {
    case TNET_TAG.STRING:
      return buf.subarray(f.start, f.end);
    case TNET_TAG.INTEGER:
      return parseInteger(buf, f.start, f.end);
    case TNET_TAG.FLOAT:
      return parseFloatPayload(buf, f.start, f.end);
    case TNET_TAG.BOOLEAN: {
      const text = buf.toString('latin1', f.start, f.end);
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw new ProtocolError("tnetstring boolean must be 'true' or 'false'", f.start);
    }
    case TNET_TAG.NULL:
      if (f.end !== f.start) throw new ProtocolError('tnetstring null must have length 0', f.start);
      return null;
    case TNET_TAG.LIST: {
      if (depth >= maxDepth) throw new ProtocolError(`tnetstring nested deeper than ${maxDepth}`, at);
      const out: TnetValue[] = [];
      for (let i = f.start; i < f.end; ) {
        const item = readFrame(buf, i, f.end);
        out.push(decodeFrame(buf, item, i, depth + 1, maxDepth));
        i = item.next;
      }
      return out;
    }
    case TNET_TAG.DICT: {
      if (depth >= maxDepth) throw new ProtocolError(`tnetstring nested deeper than ${maxDepth}`, at);
      const out: { [key: string]: TnetValue } = {};
      for (let i = f.start; i < f.end; ) {
        const key = readFrame(buf, i, f.end);
        if (key.tag !== TNET_TAG.STRING) throw new ProtocolError('tnetstring dict key must be a string', i);
        if (key.next >= f.end) throw new ProtocolError('tnetstring dict key has no value', key.next);
        const val = readFrame(buf, key.next, f.end);
        setOwn(out, decodeText(buf.subarray(key.start, key.end)), decodeFrame(buf, val, key.next, depth + 1, maxDepth));
        i = val.next;
      }
      return out;
    }
    default:
      throw new ProtocolError(`unknown tnetstring type tag 0x${f.tag.toString(16).padStart(2, '0')}`, f.end);
  }
}

function parseInteger(buf: Buffer, start: number, end: number): number | bigint {
  let i = start;
  const negative = buf[i] === 0x2d;
  if (negative) i++;
  if (i >= end) throw new ProtocolError('tnetstring integer has no digits', i);
  if (end - start > MAX_NUMBER_CHARS) throw new ProtocolError('tnetstring integer too long', start);
  let n = 0;
  for (let j = i; j < end; j++) {
    const c = buf[j]! - 0x30;
    if (c < 0 || c > 9) throw new ProtocolError('invalid character in tnetstring integer', j);
    n = n * 10 + c;
  }
  if (Number.isSafeInteger(n)) return negative && n !== 0 ? -n : n;
  // Outside the safe range: keep every digit rather than rounding.
  return BigInt(buf.toString('latin1', start, end));
}

function parseFloatPayload(buf: Buffer, start: number, end: number): number {
  if (end - start > MAX_NUMBER_CHARS) throw new ProtocolError('tnetstring float too long', start);
  const text = buf.toString('latin1', start, end);
  if (FLOAT_RE.test(text)) return Number(text);
  const m = NON_FINITE_RE.exec(text);
  if (m === null) throw new ProtocolError('invalid tnetstring float', start);
  if (m[2]!.toLowerCase() === 'nan') return Number.NaN;
  return m[1] === '-' ? -Infinity : Infinity;
}

/** Assigns an own property, also for the key `__proto__` (which plain assignment would turn into a prototype swap). */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/**
 * Encodes a value as one tnetstring. Buffers/Uint8Arrays and JS strings (UTF-8) become `,`; integer numbers and
 * bigints become `#` (numbers only within the safe-integer range); other numbers become `^` (NaN/±Infinity as `nan`/`inf`/`-inf`); booleans `!`; null `~`;
 * arrays `]`; plain objects `}` (keys UTF-8, `undefined` values rejected).
 * @param maxDepth Nesting limit; also stops cyclic structures.
 * @throws M2PoolError (code PROTOCOL) for values that have no tnetstring form or nest deeper than `maxDepth`.
 * @example encode(['ctl', { credits: 2000 }]).toString() // '27:3:ctl,17:7:credits,4:2000#}]'
 */
export function encode(value: TnetInput, maxDepth: number = DEFAULT_MAX_DEPTH): Buffer {
  return encodeValue(value, 0, maxDepth);
}

function frame(payload: Buffer, tag: string): Buffer {
  const head = Buffer.from(`${payload.length}:`, 'latin1');
  const out = Buffer.allocUnsafe(head.length + payload.length + 1);
  head.copy(out, 0);
  payload.copy(out, head.length);
  out[out.length - 1] = tag.charCodeAt(0);
  return out;
}

function encodeValue(v: unknown, depth: number, maxDepth: number): Buffer {
  if (v === null) return Buffer.from('0:~', 'latin1');
  switch (typeof v) {
    case 'string':
      return frame(Buffer.from(v, 'utf8'), ',');
    case 'boolean':
      return Buffer.from(v ? '4:true!' : '5:false!', 'latin1');
    case 'bigint':
      return frame(Buffer.from(v.toString(), 'latin1'), '#');
    case 'number': {
      // Beyond 2^53 an integer-valued double would be written as digits that decode to a bigint: a float keeps
      // decode(encode(x)) === x (String(1e21) is '1e+21', which the `^` grammar reads back exactly).
      if (Number.isSafeInteger(v)) return frame(Buffer.from(String(v), 'latin1'), '#');
      const text = Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : String(v);
      return frame(Buffer.from(text, 'latin1'), '^');
    }
    default:
      break;
  }
  if (v instanceof Uint8Array) return frame(Buffer.from(v.buffer, v.byteOffset, v.byteLength), ',');
  if (typeof v !== 'object' || v === undefined) throw encodeError(`cannot encode ${typeof v} as a tnetstring`);
  if (depth >= maxDepth) throw encodeError(`value nested deeper than ${maxDepth} (or cyclic)`);
  if (Array.isArray(v)) {
    return frame(Buffer.concat(v.map((item: unknown) => encodeValue(item, depth + 1, maxDepth))), ']');
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw encodeError('only plain objects can be encoded as dicts');
  const parts: Buffer[] = [];
  for (const [k, item] of Object.entries(v)) {
    if (item === undefined) throw encodeError(`dict value for key '${k}' is undefined`);
    parts.push(frame(Buffer.from(k, 'utf8'), ','), encodeValue(item, depth + 1, maxDepth));
  }
  return frame(Buffer.concat(parts), '}');
}

function encodeError(message: string): M2PoolError {
  return new M2PoolError(ErrorCode.PROTOCOL, message);
}
