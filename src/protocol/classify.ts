/**
 * Gives a parsed Mongrel2 message its meaning: request, notice, WebSocket, upload or socket message.
 * Never throws: anything unacceptable becomes `{ kind: 'invalid', reason }`.
 * Spec: docs/mongrel2.md §3.
 * @module
 */
import { posix } from 'node:path';
import type { Mongrel2Message, RawHeaders, RawMessage } from './types';

/** Options for {@link classify}. */
export interface ClassifyOptions {
  /**
   * Absolute directory of Mongrel2's `upload.temp_store` (e.g. `/tmp` for `/tmp/upload.XXXXXX`), as the paths
   * appear in the `x-mongrel2-upload-*` headers (relative to Mongrel2's chroot). When unset, every message
   * carrying upload headers is `invalid`, because those headers are client-forgeable (docs/mongrel2.md §3.4).
   * @default undefined
   */
  readonly uploadDir?: string | undefined;
}

/** Path of Mongrel2's own notices (disconnect, credits). */
export const NOTICE_PATH = '@*';
/** Header names used by the classifier. */
export const HEADER = {
  METHOD: 'METHOD',
  FLAGS: 'FLAGS',
  DOWNLOAD_CREDITS: 'DOWNLOAD_CREDITS',
  UPLOAD_STREAM: 'UPLOAD_STREAM',
  UPLOAD_STREAM_DONE: 'UPLOAD_STREAM_DONE',
  UPLOAD_START: 'x-mongrel2-upload-start',
  UPLOAD_DONE: 'x-mongrel2-upload-done',
} as const;

const DECIMAL_RE = /^\d{1,15}$/;
const FLAGS_RE = /^0[xX][0-9A-Fa-f]{1,2}$/;

/**
 * Classifies a parsed message (docs/mongrel2.md §3). Order: `@*` notices, WebSocket handshake and frames, `UPLOAD_STREAM` chunks,
 * `@route`/`<route` socket messages, async upload start/done (validated against `opts.uploadDir`), then requests.
 * @example classify(parseMessage(buf), { uploadDir: '/tmp' }).kind // 'request' | 'disconnect' | ...
 */
export function classify(msg: RawMessage, opts: ClassifyOptions = {}): Mongrel2Message {
  try {
    return classifyUnsafe(msg, opts);
  } catch (err) {
    // Unreachable for messages from parseMessage; kept so that classify can never throw.
    return invalid(msg, `classification failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function classifyUnsafe(msg: RawMessage, opts: ClassifyOptions): Mongrel2Message {
  const h = msg.headers;
  const method = single(h, HEADER.METHOD);
  if (method === null) return invalid(msg, 'METHOD header is repeated');
  if (msg.path === NOTICE_PATH) return classifyNotice(msg, method);

  switch (method) {
    case 'WEBSOCKET_HANDSHAKE':
      return { kind: 'websocket-handshake', msg, accept: msg.body.toString('latin1') };
    case 'WEBSOCKET':
      return classifyFrame(msg);
    default:
      break;
  }

  const stream = single(h, HEADER.UPLOAD_STREAM);
  if (stream !== undefined) {
    if (stream === null || !DECIMAL_RE.test(stream)) return invalid(msg, `bad UPLOAD_STREAM offset ${show(stream)}`);
    return { kind: 'upload-stream', msg, offset: Number(stream), done: single(h, HEADER.UPLOAD_STREAM_DONE) === '1' };
  }

  if ((method === 'JSON' || method === 'XML') && isSocketPath(msg.path)) {
    return { kind: 'socket-message', msg, method, data: msg.body.toString('utf8') };
  }

  if (h[HEADER.UPLOAD_START] !== undefined || h[HEADER.UPLOAD_DONE] !== undefined) {
    return classifyUpload(msg, opts.uploadDir);
  }

  if (method === undefined) return invalid(msg, 'missing METHOD header');
  return { kind: 'request', msg };
}

function classifyNotice(msg: RawMessage, method: string | undefined): Mongrel2Message {
  if (method !== 'JSON') return invalid(msg, `@* notice with METHOD ${show(method)} (expected JSON)`);
  let type: unknown;
  try {
    const body: unknown = JSON.parse(msg.body.toString('utf8'));
    type = typeof body === 'object' && body !== null ? (body as { type?: unknown }).type : undefined;
  } catch {
    return invalid(msg, '@* notice body is not valid JSON');
  }
  if (type === 'disconnect') return { kind: 'disconnect', msg };
  if (type === 'credits') {
    const credits = single(msg.headers, HEADER.DOWNLOAD_CREDITS);
    if (typeof credits !== 'string' || !DECIMAL_RE.test(credits)) {
      return invalid(msg, `credits notice with bad DOWNLOAD_CREDITS ${show(credits)}`);
    }
    return { kind: 'credits', msg, credits: Number(credits) };
  }
  return invalid(msg, `@* notice of unknown type ${show(type)}`);
}

function classifyFrame(msg: RawMessage): Mongrel2Message {
  const raw = single(msg.headers, HEADER.FLAGS);
  if (typeof raw !== 'string' || !FLAGS_RE.test(raw)) return invalid(msg, `bad WebSocket FLAGS ${show(raw)}`);
  const flags = parseInt(raw, 16);
  return { kind: 'websocket-frame', msg, flags, opcode: flags & 0x0f, fin: (flags & 0x80) !== 0, payload: msg.body };
}

function classifyUpload(msg: RawMessage, uploadDir: string | undefined): Mongrel2Message {
  const start = single(msg.headers, HEADER.UPLOAD_START);
  const done = single(msg.headers, HEADER.UPLOAD_DONE);
  const refuse = (reason: string): Mongrel2Message => ({ kind: 'invalid', msg, reason, upload: true });
  if (uploadDir === undefined) return refuse('upload headers present but no uploadDir is configured');
  if (start === undefined) return refuse('x-mongrel2-upload-done without x-mongrel2-upload-start');
  if (start === null || done === null) return refuse('repeated upload header (forged)');
  if (done !== undefined && done !== start) return refuse('x-mongrel2-upload-start and -done differ');
  if (!isInside(start, uploadDir)) return refuse(`upload file ${show(start)} is outside uploadDir`);
  return done === undefined ? { kind: 'upload-start', msg, file: start } : { kind: 'request', msg, upload: { file: start } };
}

/**
 * True when `file` is an absolute path strictly below the absolute directory `dir`, after normalisation
 * (so `..` cannot escape). Pure string logic: symlinks are not resolved.
 */
export function isInside(file: string, dir: string): boolean {
  if (!posix.isAbsolute(file) || !posix.isAbsolute(dir) || file.includes('\0') || dir.includes('\0')) return false;
  const base = posix.normalize(`${dir}/`);
  const target = posix.normalize(file);
  return target.length > base.length && target.startsWith(base) && !target.endsWith('/');
}

function isSocketPath(path: string): boolean {
  return (path.startsWith('@') && path !== NOTICE_PATH) || path.startsWith('<');
}

/** A header's single value: `undefined` when absent, `null` when repeated (an array). */
function single(h: RawHeaders, key: string): string | null | undefined {
  const v = h[key];
  if (v === undefined || typeof v === 'string') return v;
  return null;
}

function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  if (v === null) return '(repeated)';
  const s = typeof v === 'string' ? v : String(JSON.stringify(v));
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

function invalid(msg: RawMessage, reason: string): Mongrel2Message {
  return { kind: 'invalid', msg, reason };
}
