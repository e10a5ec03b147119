/**
 * Mongrel2's `upload.temp_store` template as a setting: parsed and checked where the configuration is read (pool
 * config, `m2pool worker` flags, the configuration a forked worker is handed), used by `worker/upload-store.ts`
 * to decide which upload files a worker may touch (docs/mongrel2.md §3.4).
 * @module
 */
import { posix } from 'node:path';

/** Mongrel2's `limits.content_length` default: bodies above it take the upload path (docs/mongrel2.md §2.7). */
export const DEFAULT_UPLOAD_THRESHOLD = 20_480;
/** Basename pattern `--upload-dir DIR` stands for (the template Mongrel2's docs use: `/tmp/upload.XXXXXX`). */
export const DEFAULT_UPLOAD_BASENAME = 'upload.XXXXXX';
/** The run of characters mkstemp replaces at the end of the template. */
export const MKSTEMP_SUFFIX = 'XXXXXX';

/** A parsed `upload.temp_store` template. */
export interface UploadStore {
  /** The template as configured, e.g. `/srv/run/tmp/upload.XXXXXX`. */
  readonly template: string;
  /** Normalised absolute directory, without a trailing slash (`/` for the root). */
  readonly dir: string;
  /** Basename text before the `XXXXXX` run, e.g. `upload.`. */
  readonly prefix: string;
  /** Mongrel2's `limits.content_length`. */
  readonly threshold: number;
}

/**
 * Parses Mongrel2's `upload.temp_store` template (absolute, basename ending in `XXXXXX`, as mkstemp requires).
 * @throws Error with a message that says what is wrong.
 * @example parseUploadStore('/run/tmp/upload.XXXXXX', 20480).prefix // 'upload.'
 */
export function parseUploadStore(template: string, threshold: number = DEFAULT_UPLOAD_THRESHOLD): UploadStore {
  if (!posix.isAbsolute(template) || template.includes('\0')) throw new Error(`upload store ${JSON.stringify(template)} must be an absolute path`);
  const normal = posix.normalize(template);
  const base = posix.basename(normal);
  if (!base.endsWith(MKSTEMP_SUFFIX) || normal.endsWith('/')) {
    throw new Error(`upload store ${JSON.stringify(template)} must end in ${MKSTEMP_SUFFIX} (mkstemp's template)`);
  }
  if (!Number.isSafeInteger(threshold) || threshold < 0) throw new Error(`upload threshold must be a non-negative integer, got ${threshold}`);
  return { template, dir: posix.dirname(normal), prefix: base.slice(0, -MKSTEMP_SUFFIX.length), threshold };
}

/** The store `--upload-dir DIR` stands for: `DIR/upload.XXXXXX`. */
export function uploadStoreOfDir(dir: string, threshold: number = DEFAULT_UPLOAD_THRESHOLD): UploadStore {
  return parseUploadStore(posix.join(dir, DEFAULT_UPLOAD_BASENAME), threshold);
}

/** The store a worker configuration names (its template and threshold), or undefined: uploads refused. */
export function uploadStoreOf(c: { readonly uploadStore?: string; readonly uploadThreshold: number }): UploadStore | undefined {
  return c.uploadStore === undefined ? undefined : parseUploadStore(c.uploadStore, c.uploadThreshold);
}
