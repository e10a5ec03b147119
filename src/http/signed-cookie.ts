/**
 * Signed cookies (Brubeck's `cookie_encode`/`cookie_decode`): the value travels in clear with an
 * HMAC-SHA256 tag, `VALUE.TAG`. The tag covers the cookie's name too, so a value signed for one cookie is not
 * accepted under another name. Keys rotate: the first secret signs, every secret verifies, so a new secret can be
 * put first while cookies signed with the old one stay valid until it is removed. Tags are compared in constant
 * time; a missing, malformed or tampered cookie reads as absent.
 * @module
 */

import { nodeCrypto } from '../node-crypto';
import { ConfigError } from '../errors';
import type { CookieOptions } from './cookie';
import type { Request } from './request';
import type { Response } from './response';

/** Shortest secret accepted, in characters (a HMAC-SHA256 key should carry at least 128 bits). */
export const MIN_SECRET_LENGTH = 16;

// A base64url SHA-256 tag is 43 characters.
const TAG_LENGTH = 43;

/**
 * Signs and verifies cookie values with a list of secrets (the first signs, all verify).
 * @example
 * const signer = new CookieSigner([process.env.COOKIE_SECRET!]);
 * signer.set(ctx.res, 'theme', 'dark', { httpOnly: true });
 * signer.get(ctx.req, 'theme'); // 'dark', or undefined when absent or tampered with
 */
export class CookieSigner {
  readonly #keys: readonly Buffer[];

  /** Throws `ConfigError` for an empty list or a secret shorter than {@link MIN_SECRET_LENGTH}. */
  constructor(secrets: readonly string[]) {
    const problems: string[] = [];
    if (secrets.length === 0) problems.push('cookie secrets: give at least one secret');
    secrets.forEach((s, i) => {
      if (typeof s !== 'string' || s.length < MIN_SECRET_LENGTH) problems.push(`cookie secret #${i + 1} must be a string of at least ${MIN_SECRET_LENGTH} characters`);
    });
    if (problems.length > 0) throw new ConfigError(problems);
    this.#keys = secrets.map((s) => Buffer.from(s, 'utf8'));
  }

  /** `value.tag`, signed with the first secret. */
  sign(name: string, value: string): string {
    return `${value}.${tag(this.#keys[0] as Buffer, name, value)}`;
  }

  /** The value of a signed `signed` for cookie `name`, or undefined when no secret's tag matches. */
  unsign(name: string, signed: string): string | undefined {
    const dot = signed.lastIndexOf('.');
    if (dot === -1 || signed.length - dot - 1 !== TAG_LENGTH) return undefined;
    const value = signed.slice(0, dot);
    const given = Buffer.from(signed.slice(dot + 1), 'utf8');
    let ok = false;
    // Every key is tried (no early exit), so the time taken does not tell which key matched.
    for (const key of this.#keys) {
      const expected = Buffer.from(tag(key, name, value), 'utf8');
      if (expected.length === given.length && nodeCrypto().timingSafeEqual(expected, given)) ok = true;
    }
    return ok ? value : undefined;
  }

  /** The verified value of cookie `name` of `req`, or undefined (absent, malformed, or tampered with). */
  get(req: Request, name: string): string | undefined {
    const raw = req.cookies[name];
    return raw === undefined ? undefined : this.unsign(name, raw);
  }

  /** Append a Set-Cookie header with `value` signed. */
  set(res: Response, name: string, value: string, options: CookieOptions = {}): void {
    res.cookie(name, this.sign(name, value), options);
  }
}

function tag(key: Buffer, name: string, value: string): string {
  return nodeCrypto().createHmac('sha256', key).update(name).update('=').update(value).digest('base64url');
}
