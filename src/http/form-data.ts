/**
 * The convenience over {@link parseMultipart}: a whole multipart body collected into fields plus files, each file
 * kept in memory (under the `fileSize` limit) or saved to a private temp directory.
 * @module
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MultiValueRecord } from './parse';
import type { FormPart, MultipartLimits } from './multipart';

/** Options of `Request.multipart()`. */
export interface CollectFormOptions {
  /** Parse limits (each past-limit body is a 413). @default DEFAULT_MULTIPART_LIMITS */
  readonly limits?: MultipartLimits;
  /**
   * Where file contents go: `memory` (a Buffer each, at most `limits.fileSize`), `temp` (a file each in a fresh
   * private directory under the OS temp dir, removed by `cleanup()`), or `discard` (only name and size kept).
   * @default 'memory'
   */
  readonly files?: 'memory' | 'temp' | 'discard';
}

/** One file of a collected form. `data` is set with `files: 'memory'`, `path` with `files: 'temp'`. */
export interface CollectedFile {
  readonly field: string;
  readonly filename: string;
  readonly mimeType: string;
  readonly size: number;
  readonly data?: Buffer;
  readonly path?: string;
}

/** A collected multipart body. */
export interface CollectedForm {
  /** Non-file fields; a repeated name is an array in body order. */
  readonly fields: MultiValueRecord;
  readonly files: readonly CollectedFile[];
  /** Remove the temp files (with `files: 'temp'`); idempotent, a no-op otherwise. */
  cleanup(): Promise<void>;
}

/** Read every part of `parts` into a {@link CollectedForm}. On any error the temp files are removed first. */
export async function collectForm(parts: AsyncIterable<FormPart>, options: CollectFormOptions = {}): Promise<CollectedForm> {
  const mode = options.files ?? 'memory';
  const fields: Record<string, string | string[]> = Object.create(null);
  const files: CollectedFile[] = [];
  let dir: string | undefined;
  const cleanup = async (): Promise<void> => {
    const d = dir;
    dir = undefined;
    if (d !== undefined) await rm(d, { recursive: true, force: true });
  };
  try {
    for await (const part of parts) {
      if (part.kind === 'field') {
        const prev = fields[part.name];
        if (prev === undefined) fields[part.name] = part.value;
        else if (typeof prev === 'string') fields[part.name] = [prev, part.value];
        else prev.push(part.value);
        continue;
      }
      const base = { field: part.name, filename: part.filename, mimeType: part.mimeType };
      if (mode === 'memory') {
        const data = await part.buffer();
        files.push({ ...base, size: data.length, data });
      } else if (mode === 'temp') {
        dir ??= await mkdtemp(path.join(tmpdir(), 'm2pool-form-'));
        const saved = await part.save(path.join(dir, String(files.length)));
        files.push({ ...base, size: saved.size, path: saved.path });
      } else {
        let size = 0;
        for await (const chunk of part.stream) size += (chunk as Buffer).length;
        files.push({ ...base, size });
      }
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  for (const value of Object.values(fields)) if (Array.isArray(value)) Object.freeze(value);
  return { fields: Object.freeze(fields), files, cleanup };
}
