/**
 * `ctx.session`: a session id in a signed cookie, the data in a {@link SessionStore}. Lazy: the
 * cookie is verified and the store read only when a handler first calls a method of `ctx.session`, so a route that
 * never touches it costs nothing. Writes go through to the store before the call resolves, so the next request
 * of the client — whichever worker or host takes it — sees them. The cookie is set when a session is first
 * written (and again by `regenerate`), so the response head must still be open then.
 * @module
 */

import { nodeCrypto } from '../../node-crypto';
import type { Logger } from 'pino';
import { ConfigError, ErrorCode, M2PoolError } from '../../errors';
import type { CookieOptions } from '../../http/cookie';
import type { Request } from '../../http/request';
import type { Response } from '../../http/response';
import { CookieSigner } from '../../http/signed-cookie';
import type { SessionData, SessionStore } from './store';

/** Settings of sessions: `new App({ sessions })`. */
export interface SessionOptions {
  readonly store: SessionStore;
  /** Secrets of the session cookie's signature: the first signs, all verify (rotation). */
  readonly secrets: readonly string[];
  /** Cookie name. @default 'm2pool.sid' */
  readonly cookieName?: string;
  /** Idle lifetime in seconds: each write starts it again (store TTL and cookie Max-Age). @default 86400 */
  readonly ttlSeconds?: number;
  /** Cookie attributes. @default { path: '/', httpOnly: true, sameSite: 'Lax' } */
  readonly cookie?: Omit<CookieOptions, 'maxAge' | 'expires'>;
}

const ID_BYTES = 18;
const ID_PATTERN = /^[A-Za-z0-9_-]{24}$/;

/** The app-wide half of sessions: settings plus the signer, shared by every request. */
export class SessionManager {
  readonly store: SessionStore;
  readonly signer: CookieSigner;
  readonly cookieName: string;
  readonly ttlSeconds: number;
  readonly cookie: Omit<CookieOptions, 'maxAge' | 'expires'>;

  /** Throws `ConfigError` for bad secrets, TTL or cookie name. */
  constructor(options: SessionOptions) {
    this.signer = new CookieSigner(options.secrets);
    this.store = options.store;
    this.cookieName = options.cookieName ?? 'm2pool.sid';
    this.ttlSeconds = options.ttlSeconds ?? 86_400;
    if (!Number.isInteger(this.ttlSeconds) || this.ttlSeconds < 1) throw new ConfigError([`sessions.ttlSeconds must be a positive integer, got ${this.ttlSeconds}`]);
    this.cookie = options.cookie ?? { path: '/', httpOnly: true, sameSite: 'Lax' };
  }

  /** The session handle of one request (reads nothing yet). */
  open(req: Request, res: Response, log: () => Logger): Session {
    return new Session(this, req, res, log);
  }
}

/**
 * One request's session. Every method is async: the first one verifies the cookie and reads the store; the
 * writers (`set`, `update`, `delete`, `regenerate`, `destroy`) resolve once the store has the change.
 * @example
 * const visits = ((await ctx.session.get<number>('visits')) ?? 0) + 1;
 * await ctx.session.set('visits', visits);
 */
export class Session {
  readonly #manager: SessionManager;
  readonly #req: Request;
  readonly #res: Response;
  readonly #log: () => Logger;
  #loaded: Promise<void> | undefined;
  #id: string | undefined;
  /** Whether the client already holds a cookie for `#id` (it sent one, or this response sets one). */
  #clientHasId = false;
  /** Whether this response carries the session's Set-Cookie. */
  #cookieSet = false;
  #data: SessionData = {};

  constructor(manager: SessionManager, req: Request, res: Response, log: () => Logger) {
    this.#manager = manager;
    this.#req = req;
    this.#res = res;
    this.#log = log;
  }

  /** The session id, or undefined while the client has none (nothing was written yet). */
  async id(): Promise<string | undefined> {
    await this.#load();
    return this.#id;
  }

  /** One value, or undefined. */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    await this.#load();
    return this.#data[key] as T | undefined;
  }

  /** A copy of all values. */
  async all(): Promise<SessionData> {
    await this.#load();
    return { ...this.#data };
  }

  /** Set one value and store the session (JSON-serialisable values only). */
  async set(key: string, value: unknown): Promise<void> {
    await this.update({ [key]: value });
  }

  /** Set several values in one store write. */
  async update(values: SessionData): Promise<void> {
    await this.#load();
    this.#data = { ...this.#data, ...values };
    await this.#save();
  }

  /** Remove one value and store the session. */
  async delete(key: string): Promise<void> {
    await this.#load();
    const { [key]: _removed, ...rest } = this.#data;
    this.#data = rest;
    await this.#save();
  }

  /**
   * A new id for the same data, the old id removed from the store: call it on login (and on any privilege change)
   * so an id an attacker planted before login is worthless after it (session fixation).
   */
  async regenerate(): Promise<void> {
    await this.#load();
    const old = this.#id;
    this.#id = newId();
    this.#clientHasId = false;
    await this.#save();
    if (old !== undefined) await this.#manager.store.destroy(old);
  }

  /** Remove the session from the store and expire the cookie. */
  async destroy(): Promise<void> {
    await this.#load();
    const id = this.#id;
    this.#id = undefined;
    this.#data = {};
    this.#clientHasId = false;
    if (id === undefined) return;
    await this.#manager.store.destroy(id);
    if (!this.#res.headersSent) this.#res.clearCookie(this.#manager.cookieName, this.#manager.cookie);
  }

  #load(): Promise<void> {
    this.#loaded ??= this.#read();
    return this.#loaded;
  }

  async #read(): Promise<void> {
    const m = this.#manager;
    m.store.warnUnshared?.(this.#log());
    const id = m.signer.get(this.#req, m.cookieName);
    if (id === undefined || !ID_PATTERN.test(id)) return;
    const data = await m.store.get(id);
    // An unknown id (expired, destroyed, or never issued here) is not reused: a new one is made on the next write.
    if (data === undefined) return;
    this.#id = id;
    this.#clientHasId = true;
    this.#data = data;
  }

  async #save(): Promise<void> {
    const m = this.#manager;
    this.#id ??= newId();
    // The cookie's Max-Age restarts with the store's TTL while the head is open; a new id must reach the client.
    if (!this.#res.headersSent) this.#setCookie(this.#id);
    else if (!this.#clientHasId) throw new M2PoolError(ErrorCode.RESPONSE_INVALID, 'session written after the response head was sent: its cookie cannot be set');
    this.#clientHasId = true;
    await m.store.set(this.#id, this.#data, m.ttlSeconds);
  }

  /** Set (or replace this response's earlier) Set-Cookie of the session. */
  #setCookie(id: string): void {
    const m = this.#manager;
    if (this.#cookieSet) {
      const prefix = `${m.cookieName}=`;
      const others = this.#res.getHeaderAll('Set-Cookie').filter((c) => !c.startsWith(prefix));
      this.#res.removeHeader('Set-Cookie');
      for (const c of others) this.#res.appendHeader('Set-Cookie', c);
    }
    m.signer.set(this.#res, m.cookieName, id, { ...m.cookie, maxAge: m.ttlSeconds });
    this.#cookieSet = true;
  }
}

function newId(): string {
  return nodeCrypto().randomBytes(ID_BYTES).toString('base64url');
}
