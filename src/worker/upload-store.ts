/**
 * Which async-upload files a worker may read and unlink: only the ones Mongrel2 itself wrote.
 *
 * Mongrel2 creates the temp file with `mkstemp(upload.temp_store)` and names it in `x-mongrel2-upload-start` /
 * `-done` headers, which any client can also send on an ordinary request (docs/mongrel2.md §3.4). A name is
 * accepted only if every check holds:
 * - the message has Mongrel2's shape: an empty body and a `content-length` above `limits.content_length` (or a
 *   chunked body), since only then does Mongrel2 take the upload path and overwrite the client's headers;
 * - the name is the template's directory plus the template's basename with its `XXXXXX` replaced by mkstemp's six
 *   `[A-Za-z0-9]` characters: no `..`, no `.` or `//` segment, no subdirectory;
 * - the file opens with `O_NOFOLLOW` (a symlink is refused), is a regular file (fstat) with one link.
 * A refused name is never read or unlinked.
 * @module
 */
import { constants, type Stats } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { posix } from 'node:path';
import type { RawHeaders, RawMessage } from '../protocol/types';
import { MKSTEMP_SUFFIX, type UploadStore } from '../config/upload-template';

export { DEFAULT_UPLOAD_BASENAME, DEFAULT_UPLOAD_THRESHOLD, parseUploadStore, uploadStoreOfDir, type UploadStore } from '../config/upload-template';

const MKSTEMP_RUN = /^[A-Za-z0-9]{6}$/;

/**
 * Why an upload was refused: a bounded set, used as the `reason` of the `upload.refused` log line.
 * `no-store`: no template configured; `headers`: missing, repeated or differing start/done headers;
 * `shape`: body not empty, or size at or under the threshold without chunked encoding; `name`: not a name
 * the template can produce; `not-regular`: a symlink, directory, socket, FIFO, device or hard-linked file;
 * `unreadable`: it could not be opened (gone, permissions).
 */
export type UploadRefusal = 'no-store' | 'headers' | 'shape' | 'name' | 'not-regular' | 'unreadable';

/** True when `name` is exactly a file mkstemp can create from the store's template (pure string check). */
export function isStoreName(store: UploadStore, name: string): boolean {
  if (!posix.isAbsolute(name) || name.includes('\0') || posix.normalize(name) !== name) return false;
  if (posix.dirname(name) !== store.dir) return false;
  const base = posix.basename(name);
  return base.length === store.prefix.length + MKSTEMP_SUFFIX.length && base.startsWith(store.prefix) && MKSTEMP_RUN.test(base.slice(store.prefix.length));
}

/**
 * Checks the shape of a start or done notice: only Mongrel2's own upload messages have an empty body and a body
 * too large to be sent inline (or chunked). Returns undefined when it fits, else the refusal.
 */
export function checkUploadNotice(store: UploadStore, msg: RawMessage, file: string): UploadRefusal | undefined {
  if (msg.body.length !== 0 || !takesUploadPath(msg.headers, store.threshold)) return 'shape';
  if (!isStoreName(store, file)) return 'name';
  return undefined;
}

function takesUploadPath(h: RawHeaders, threshold: number): boolean {
  const encoding = h['transfer-encoding'];
  if (typeof encoding === 'string' && /\bchunked\b/i.test(encoding)) return true;
  const length = h['content-length'];
  if (typeof length !== 'string' || !/^\d{1,15}$/.test(length)) return false;
  return Number(length) > threshold;
}

/** What {@link readUpload} found. */
export type UploadRead =
  | { readonly kind: 'ok'; readonly body: Buffer }
  | { readonly kind: 'too-large'; readonly size: number }
  | { readonly kind: 'refused'; readonly reason: UploadRefusal };

/** What {@link openUpload} found: an open, checked file (the caller closes `handle`), or why not. */
export type UploadOpen =
  | { readonly kind: 'ok'; readonly handle: FileHandle; readonly size: number }
  | { readonly kind: 'too-large'; readonly size: number }
  | { readonly kind: 'refused'; readonly reason: UploadRefusal };

/**
 * Opens `file` without following symlinks (and without blocking on a FIFO) and checks it is a regular file with one
 * link of at most `maxBytes`. Call only with a name {@link checkUploadNotice} accepted. Only an `ok` or `too-large`
 * result is a file that may be unlinked. The checks hold for the open handle, so reading through it reads the
 * checked file even if the name is replaced meanwhile.
 */
export async function openUpload(file: string, maxBytes: number): Promise<UploadOpen> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    // ELOOP: the name is a symlink (O_NOFOLLOW); anything else (ENOENT, EACCES, ENXIO for a socket) is unreadable.
    return { kind: 'refused', reason: (err as NodeJS.ErrnoException).code === 'ELOOP' ? 'not-regular' : 'unreadable' };
  }
  let keep = false;
  try {
    const st: Stats = await handle.stat();
    if (!st.isFile() || st.nlink !== 1) return { kind: 'refused', reason: 'not-regular' };
    if (st.size > maxBytes) return { kind: 'too-large', size: st.size };
    keep = true;
    return { kind: 'ok', handle, size: st.size };
  } finally {
    if (!keep) await handle.close().catch(() => undefined);
  }
}

/** {@link openUpload}, then the whole file read into memory. */
export async function readUpload(file: string, maxBytes: number): Promise<UploadRead> {
  const opened = await openUpload(file, maxBytes);
  if (opened.kind !== 'ok') return opened;
  try {
    return { kind: 'ok', body: await opened.handle.readFile() };
  } finally {
    await opened.handle.close().catch(() => undefined);
  }
}

/**
 * A request body read from an open upload file: each `open()` is a fresh stream from byte 0 that leaves the handle
 * open (the worker closes it after the request).
 */
export class UploadBody {
  readonly size: number;
  readonly #handle: FileHandle;

  constructor(handle: FileHandle, size: number) {
    this.#handle = handle;
    this.size = size;
  }

  open(): Readable {
    return this.#handle.createReadStream({ start: 0, end: Math.max(0, this.size - 1), autoClose: false, emitClose: false });
  }

  /** Close the file (after the request). */
  async close(): Promise<void> {
    await this.#handle.close().catch(() => undefined);
  }
}

/** Removes an upload file {@link readUpload} accepted; errors (already gone) are ignored. */
export async function removeUpload(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
}
