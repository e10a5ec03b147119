/**
 * `multipart/form-data` (RFC 7578), parsed by busboy as a stream: fields and files arrive one part at a time, in
 * body order, and a file's bytes are never held whole unless the handler asks for that. The
 * source is any `Readable` — the in-memory body, or the temp file of a Mongrel2 async upload (docs/mongrel2.md
 * §3.4), read from disk as the parser asks for it.
 *
 * Limits are enforced while parsing: past a size or count limit the request fails with `HttpError` 413, a
 * malformed body with 400, each with a message that names the limit.
 * @module
 */

import { open, unlink } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Busboy, FileInfo } from 'busboy';
import { HttpError } from './http-error';

/** Limits of one multipart body. Every limit is checked while parsing; past one the parse fails with 413. */
export interface MultipartLimits {
  /** Most file parts. @default 10 */
  readonly files?: number;
  /** Largest file in bytes (a larger one is cut one byte past it, and the parse fails). @default 10485760 (10 MiB) */
  readonly fileSize?: number;
  /** Most non-file fields. @default 100 */
  readonly fields?: number;
  /** Largest field value in bytes. @default 65536 */
  readonly fieldSize?: number;
  /** Longest field name in bytes. @default 200 */
  readonly fieldNameSize?: number;
  /** Most parts (fields plus files). @default 1000 */
  readonly parts?: number;
}

/** The defaults of {@link MultipartLimits}. */
export const DEFAULT_MULTIPART_LIMITS: Required<MultipartLimits> = Object.freeze({
  files: 10,
  fileSize: 10 * 1024 * 1024,
  fields: 100,
  fieldSize: 64 * 1024,
  fieldNameSize: 200,
  parts: 1000,
});

/** A non-file part. */
export interface FormField {
  readonly kind: 'field';
  readonly name: string;
  readonly value: string;
  readonly mimeType: string;
}

/** What {@link FormFile.save} wrote. */
export interface SavedFile {
  readonly path: string;
  readonly size: number;
}

/**
 * A file part. Read `stream` (pipe it, iterate it) before asking for the next part: the parser waits for it
 * (back-pressure), and a file left unread is skipped when the next part is requested. A file over the
 * `fileSize` limit is cut short; `truncated` tells, and the helpers and the next step of the iteration throw 413.
 */
export class FormFile {
  readonly kind = 'file';
  /** The form field name. */
  readonly name: string;
  /** The client's file name (no directory part: browsers send none, and busboy strips one). */
  readonly filename: string;
  readonly mimeType: string;
  /** The part's Content-Transfer-Encoding, usually `7bit`. */
  readonly encoding: string;
  /**
   * The file's bytes, as they arrive. It fails with `HttpError` 400 when the body is malformed (cut short), so a
   * handler that lets the error propagate answers 400.
   */
  readonly stream: Readable;
  readonly #source: Readable & { truncated?: boolean };
  readonly #limit: number;

  /** @internal Created by {@link parseMultipart}. */
  constructor(name: string, info: FileInfo, source: Readable & { truncated?: boolean }, limit: number) {
    this.name = name;
    this.filename = info.filename ?? '';
    this.mimeType = info.mimeType;
    this.encoding = info.encoding;
    this.#source = source;
    this.#limit = limit;
    // busboy fails its file stream with a bare Error; the handler's stream fails with the 400 it stands for.
    const out = new PassThrough();
    source.on('error', (err) => out.destroy(malformed(err)));
    // A file nobody reads any more must not crash the process when it fails; readers still get the error.
    out.on('error', () => undefined);
    source.pipe(out);
    this.stream = out;
  }

  /** True once the file went past the `fileSize` limit (it was cut there). */
  get truncated(): boolean {
    return this.#source.truncated === true;
  }

  /** The whole file in memory (at most the `fileSize` limit). Throws 413 past it. */
  async buffer(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.stream) chunks.push(chunk as Buffer);
    this.#checkTruncated();
    return Buffer.concat(chunks);
  }

  /**
   * Write the file to `path` (created, never overwritten), streaming. Throws 413 past the `fileSize` limit, after
   * removing what was written. The caller owns the file.
   */
  async save(path: string): Promise<SavedFile> {
    const handle = await open(path, 'wx', 0o600);
    // The write stream closes the handle when it finishes or fails.
    const out = handle.createWriteStream();
    try {
      await pipeline(this.stream, out);
      this.#checkTruncated();
      return { path, size: out.bytesWritten };
    } catch (err) {
      await unlink(path).catch(() => undefined);
      throw err;
    }
  }

  /** Skip the file's bytes. */
  discard(): void {
    this.stream.resume();
  }

  /** @internal Whether the parser is done with this file. */
  get consumed(): boolean {
    return this.#source.readableEnded || this.#source.destroyed;
  }

  #checkTruncated(): void {
    if (this.truncated) throw fileTooLarge(this.name, this.#limit);
  }
}

/** A part of a multipart body. */
export type FormPart = FormField | FormFile;

function malformed(err: unknown): HttpError {
  return err instanceof HttpError ? err : new HttpError(400, `malformed multipart body: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

function fileTooLarge(name: string, limit: number): HttpError {
  return new HttpError(413, `file in field ${JSON.stringify(name)} is larger than the limit of ${limit} bytes`);
}

/** busboy, loaded by the first multipart body: an app that never parses one does not load it. */
function loadBusboy(): typeof import('busboy') {
  // NOTE: require, not a top-level import, so m2pool loads busboy only when a multipart body is parsed.
  return require('busboy') as typeof import('busboy');
}

/**
 * Parse `source` as `multipart/form-data` with the boundary of `contentType`, yielding each part in body order.
 * Throws `HttpError` 400 for a missing boundary or a malformed body, 413 past a limit. Breaking out of the loop
 * stops reading `source`.
 * @example
 * for await (const part of parseMultipart(req.bodyStream(), req.header('content-type'))) {
 *   if (part.kind === 'file') await part.save('/tmp/x'); else console.log(part.name, part.value);
 * }
 */
export async function* parseMultipart(source: Readable, contentType: string | undefined, limits: MultipartLimits = {}): AsyncGenerator<FormPart, void, undefined> {
  const l = { ...DEFAULT_MULTIPART_LIMITS, ...limits };
  let parser: Busboy;
  try {
    // busboy counts a value that reaches its limit as cut; one byte more lets a value of exactly the limit through.
    parser = loadBusboy()({ headers: { 'content-type': contentType ?? '' }, limits: { ...l, fileSize: l.fileSize + 1, fieldSize: l.fieldSize + 1 } });
  } catch (err) {
    source.resume();
    throw malformed(err);
  }
  const queue: FormPart[] = [];
  let failure: HttpError | Error | undefined;
  let done = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const fail = (err: HttpError | Error): void => {
    failure ??= err;
    notify();
  };
  parser.on('field', (name, value, info) => {
    if (info.nameTruncated) return fail(new HttpError(413, `a field name is longer than the limit of ${l.fieldNameSize} bytes`));
    if (info.valueTruncated) return fail(new HttpError(413, `field ${JSON.stringify(name)} is longer than the limit of ${l.fieldSize} bytes`));
    queue.push({ kind: 'field', name, value, mimeType: info.mimeType });
    notify();
  });
  parser.on('file', (name, stream, info) => {
    stream.once('limit', () => fail(fileTooLarge(name, l.fileSize)));
    queue.push(new FormFile(name, info, stream, l.fileSize));
    notify();
  });
  parser.on('filesLimit', () => fail(new HttpError(413, `more than ${l.files} files`)));
  parser.on('fieldsLimit', () => fail(new HttpError(413, `more than ${l.fields} fields`)));
  parser.on('partsLimit', () => fail(new HttpError(413, `more than ${l.parts} parts`)));
  parser.on('error', (err: unknown) => fail(malformed(err)));
  parser.on('close', () => {
    done = true;
    notify();
  });
  source.on('error', (err) => fail(err));
  source.pipe(parser);

  let current: FormFile | undefined;
  try {
    for (;;) {
      // A file the handler left unread would hold the parser (back-pressure): skip the rest of it.
      if (current !== undefined && !current.consumed) current.discard();
      current = undefined;
      if (failure !== undefined) throw failure;
      const next = queue.shift();
      if (next !== undefined) {
        if (next.kind === 'file') current = next;
        yield next;
        continue;
      }
      if (done) {
        if (failure !== undefined) throw failure;
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    if (!done) {
      source.unpipe(parser);
      source.destroy();
      parser.destroy();
    }
  }
}
