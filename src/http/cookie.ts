/**
 * Set-Cookie serialisation (RFC 6265 §4.1), validated before anything is sent.
 * @module
 */

import { ErrorCode, M2PoolError } from '../errors';

/** Attributes of a Set-Cookie header. */
export interface CookieOptions {
  /** `Path=`; must not contain `;` or control characters. */
  readonly path?: string;
  /** `Domain=`; must not contain `;` or control characters. */
  readonly domain?: string;
  /** `Max-Age=` in seconds (an integer; 0 or less expires the cookie now). */
  readonly maxAge?: number;
  /** `Expires=` as an HTTP date. */
  readonly expires?: Date;
  readonly httpOnly?: boolean;
  readonly secure?: boolean;
  /** `SameSite=`; `None` requires `secure: true` (browsers drop it otherwise). */
  readonly sameSite?: 'Strict' | 'Lax' | 'None';
}

// RFC 6265 cookie-name is an RFC 2616 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Attribute values: printable ASCII except `;` (RFC 6265 av-octet).
const ATTRIBUTE_VALUE = /^[\x20-\x3a\x3c-\x7e]*$/;

/**
 * Render one Set-Cookie value. The cookie value is percent-encoded with `encodeURIComponent`, so any
 * string is safe; `Request.cookies` decodes it. Invalid names or attributes throw `RESPONSE_INVALID`.
 */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  if (!TOKEN.test(name)) invalid(`invalid cookie name ${JSON.stringify(name)}`);
  const parts = [`${name}=${encodeURIComponent(value)}`];
  if (options.maxAge !== undefined) {
    if (!Number.isFinite(options.maxAge)) invalid(`invalid cookie maxAge ${options.maxAge}`);
    parts.push(`Max-Age=${Math.floor(options.maxAge)}`);
  }
  if (options.domain !== undefined) parts.push(`Domain=${attribute('domain', options.domain)}`);
  if (options.path !== undefined) parts.push(`Path=${attribute('path', options.path)}`);
  if (options.expires !== undefined) {
    if (Number.isNaN(options.expires.getTime())) invalid('invalid cookie expires date');
    parts.push(`Expires=${options.expires.toUTCString()}`);
  }
  if (options.httpOnly === true) parts.push('HttpOnly');
  if (options.secure === true) parts.push('Secure');
  if (options.sameSite !== undefined) {
    if (!['Strict', 'Lax', 'None'].includes(options.sameSite)) {
      invalid(`invalid cookie sameSite ${JSON.stringify(options.sameSite)}`);
    }
    if (options.sameSite === 'None' && options.secure !== true) invalid('cookie sameSite None requires secure');
    parts.push(`SameSite=${options.sameSite}`);
  }
  return parts.join('; ');
}

function attribute(label: string, value: string): string {
  if (value === '' || !ATTRIBUTE_VALUE.test(value)) invalid(`invalid cookie ${label} ${JSON.stringify(value)}`);
  return value;
}

function invalid(message: string): never {
  throw new M2PoolError(ErrorCode.RESPONSE_INVALID, message);
}
