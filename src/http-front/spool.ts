/**
 * `m2pool serve`'s counterpart of Mongrel2's async upload: a `multipart/form-data` body is written
 * to an anonymous temp file (created `wx` with mode 0600 and unlinked at once, so nothing is left behind whatever
 * happens) instead of memory, and the app parses it from there as a stream, as a worker does with Mongrel2's file.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** What {@link spoolBody} ended with. */
export type Spooled =
  | { readonly kind: 'ok'; readonly handle: FileHandle; readonly size: number }
  /** Over `limit` (the caller answers 413 and drains the request), or the client went away: nothing to dispatch. */
  | { readonly kind: 'over' | 'aborted' };

/** Whether a Content-Type value is `multipart/form-data`. */
export function isMultipart(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*multipart\/form-data\s*(;|$)/i.test(contentType);
}

/**
 * Write the body of `req` to an anonymous temp file, at most `limit` bytes (`onOver` is called once past it, with
 * the bytes seen, and `req` is left to the caller). On `ok` the caller owns `handle` and closes it. Rejects only
 * when the temp file cannot be created or written.
 */
export async function spoolBody(req: IncomingMessage, limit: number, onOver: (bytes: number) => void): Promise<Spooled> {
  const file = path.join(tmpdir(), `m2pool-serve-${randomBytes(9).toString('base64url')}`);
  const handle = await open(file, 'wx+', 0o600);
  let keep = false;
  try {
    await unlink(file);
    const out = handle.createWriteStream({ autoClose: false });
    let size = 0;
    const outcome = await new Promise<'ok' | 'over' | 'aborted'>((resolve, reject) => {
      out.once('error', reject);
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          req.removeAllListeners('data');
          onOver(size);
          resolve('over');
          return;
        }
        if (!out.write(chunk)) {
          req.pause();
          out.once('drain', () => req.resume());
        }
      });
      req.once('end', () => resolve('ok'));
      req.once('close', () => resolve('aborted')); // after 'end' this changes nothing: the first resolve wins
      req.on('error', () => resolve('aborted'));
    });
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (outcome !== 'ok') return { kind: outcome };
    keep = true;
    return { kind: 'ok', handle, size };
  } finally {
    if (!keep) await handle.close().catch(() => undefined);
  }
}
