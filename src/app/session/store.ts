/**
 * The session store contract: where session data lives between requests, keyed by session id,
 * with an expiry. Two implementations ship: {@link MemoryStore} (one process; development) and {@link RedisStore}
 * (shared by every worker and host).
 * @module
 */

import type { Logger } from 'pino';

/** A session's data: a JSON-serialisable record. */
export type SessionData = Record<string, unknown>;

/**
 * Where sessions live. Every method may be called concurrently for different ids. `ttlSeconds` is the time after
 * which an untouched session expires; each `set` starts it again.
 */
export interface SessionStore {
  /** The data of session `id`, or undefined when there is none (never was, expired, destroyed). */
  get(id: string): Promise<SessionData | undefined>;
  /** Store `data` as session `id` for `ttlSeconds`. */
  set(id: string, data: SessionData, ttlSeconds: number): Promise<void>;
  /** Remove session `id` (no error when absent). */
  destroy(id: string): Promise<void>;
  /** Whether every process of the pool sees the same sessions. */
  readonly shared: boolean;
  /**
   * Called with the request's logger when a request first uses a session, so a store that is not shared can warn
   * when it runs in a pool of more than one worker (at most once per store).
   */
  warnUnshared?(log: Logger): void;
}
