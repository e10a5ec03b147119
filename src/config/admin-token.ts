/**
 * Rules for the admin endpoints' bearer tokens (`adminToken`, `metricsToken`), reading one from a file, and checking
 * the one a request carries, shared by the config loader, the pool's admin server, the dispatcher's admin endpoint
 * (`dispatch/admin.ts`) and the admin CLI. A token travels as `Authorization: Bearer <token>`, so it must be
 * visible ASCII without spaces; off loopback one is required and it must be long enough not to be guessed.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
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

/** The tokens of one admin endpoint, and whether it listens off loopback. */
export interface AdminAccess {
  readonly offHost: boolean;
  /** '' = none. */
  readonly adminToken: string;
  /** '' = none. */
  readonly metricsToken: string;
}

/**
 * Everything wrong with `access`, by setting: off loopback an admin token is required, and each token must pass
 * {@link tokenProblem}. `where` names the address in the message.
 */
export function adminAccessProblems(access: AdminAccess, where: string): Array<{ readonly key: 'adminToken' | 'metricsToken'; readonly problem: string }> {
  const out: Array<{ key: 'adminToken' | 'metricsToken'; problem: string }> = [];
  if (access.offHost && access.adminToken === '') out.push({ key: 'adminToken', problem: `is required when admin listens on a non-loopback address (${where})` });
  for (const key of ['adminToken', 'metricsToken'] as const) {
    const problem = tokenProblem(access[key], access.offHost);
    if (problem !== undefined) out.push({ key, problem });
  }
  return out;
}

/** The credentials of an `Authorization: Bearer <token>` header (scheme in any case, RFC 9110 §11.1), or undefined. */
export function bearerCredentials(header: string | undefined): string | undefined {
  const m = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+) +([\x21-\x7e]+)\s*$/.exec(header ?? '');
  return m !== null && m[1]?.toLowerCase() === 'bearer' ? m[2] : undefined;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Does a request with this `Authorization` header pass, given the tokens `accepted` there (none = open)? The
 * comparison is constant-time (hashing first makes the lengths equal) and tries every token.
 */
export function carriesToken(authorization: string | undefined, accepted: readonly string[]): boolean {
  if (accepted.length === 0) return true;
  const given = bearerCredentials(authorization);
  if (given === undefined) return false;
  const g = digest(given);
  let ok = false;
  for (const a of accepted) ok = timingSafeEqual(g, digest(a)) || ok;
  return ok;
}
