/**
 * Rules for the admin API's bearer tokens (`adminToken`, `metricsToken`) and reading one from a file, shared by
 * the config loader, the admin server and the admin CLI. A token travels as `Authorization: Bearer <token>`, so it
 * must be visible ASCII without spaces; off loopback it must be long enough not to be guessed.
 * @module
 */
import { readFileSync } from 'node:fs';
import { errorMessage, isErrnoException } from '../errors';

/** Shortest token accepted when the admin API listens on a non-loopback address. */
export const MIN_TOKEN_LENGTH_OFF_HOST = 16;

/** Visible ASCII (RFC 9110 VCHAR): what a header value can carry without quoting. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** The problem with `token`, or undefined when it is fine ('' = no token, always fine here). */
export function tokenProblem(token: string, offHost: boolean): string | undefined {
  if (token === '') return undefined;
  if (!VISIBLE_ASCII.test(token)) return 'must be visible ASCII without spaces or control characters (it is sent as "Authorization: Bearer <token>")';
  if (offHost && token.length < MIN_TOKEN_LENGTH_OFF_HOST) {
    return `must be at least ${MIN_TOKEN_LENGTH_OFF_HOST} characters when admin listens on a non-loopback address (got ${token.length}); e.g. openssl rand -hex 24`;
  }
  return undefined;
}

/**
 * Read a token file: its content without the trailing newline(s) an editor or `echo` adds.
 * @returns the token, or a problem text.
 */
export function readTokenFile(file: string, read: (file: string) => string = (f) => readFileSync(f, 'utf8')): { readonly token: string } | { readonly problem: string } {
  let text: string;
  try {
    text = read(file);
  } catch (err) {
    return { problem: `cannot read ${JSON.stringify(file)}: ${isErrnoException(err) && err.code === 'ENOENT' ? 'no such file' : errorMessage(err)}` };
  }
  const token = text.replace(/[\r\n]+$/, '');
  return token === '' ? { problem: `${JSON.stringify(file)} is empty` } : { token };
}
