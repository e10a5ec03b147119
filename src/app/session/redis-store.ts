/**
 * `RedisStore`: sessions in Redis, shared by every worker of every pool and host that uses the same Redis, each
 * key expiring on its own (`SET key value EX ttl`). m2pool does not depend on a Redis client: the app passes in
 * one it created (the `redis` npm package's `createClient()`, connected), and this store uses only the three
 * commands of {@link RedisSessionClient}.
 * @module
 */

import type { SessionData, SessionStore } from './store';

/**
 * The part of a Redis client the store uses; the `redis` package's client (v5 and later) has this shape. For
 * another client, pass an object that maps these three calls onto it.
 */
export interface RedisSessionClient {
  /** GET: the string value, or null when the key is absent. */
  get(key: string): Promise<unknown>;
  /** SET with an expiry in seconds. */
  set(key: string, value: string, options: { expiration: { type: 'EX'; value: number } }): Promise<unknown>;
  /** DEL. */
  del(key: string): Promise<unknown>;
}

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** Prepended to every session id to make the key. @default 'm2pool:session:' */
  readonly prefix?: string;
}

/**
 * Sessions in Redis.
 * @example
 * import { createClient } from 'redis';
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * const app = new App({ sessions: { store: new RedisStore(client), secrets: [secret] } });
 */
export class RedisStore implements SessionStore {
  readonly shared = true;
  readonly #client: RedisSessionClient;
  readonly #prefix: string;

  constructor(client: RedisSessionClient, options: RedisStoreOptions = {}) {
    this.#client = client;
    this.#prefix = options.prefix ?? 'm2pool:session:';
  }

  async get(id: string): Promise<SessionData | undefined> {
    const value = await this.#client.get(this.#prefix + id);
    if (typeof value !== 'string') return undefined;
    const data: unknown = JSON.parse(value);
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as SessionData) : undefined;
  }

  async set(id: string, data: SessionData, ttlSeconds: number): Promise<void> {
    await this.#client.set(this.#prefix + id, JSON.stringify(data), { expiration: { type: 'EX', value: Math.max(1, Math.ceil(ttlSeconds)) } });
  }

  async destroy(id: string): Promise<void> {
    await this.#client.del(this.#prefix + id);
  }
}
