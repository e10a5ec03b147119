/**
 * `MemoryStore`: sessions in this process's memory, with expiry. For development and tests only: the workers of a
 * pool do not share it, so a client whose requests land on different workers sees different sessions. It says
 * so in the log (`session.store.unshared`, once per process) when it runs in a pool that can have more than one
 * worker, which a worker knows from `M2POOL_WORKER_SLOT` and `M2POOL_POOL_MAX_WORKERS` (set by the supervisor).
 * @module
 */

import type { Logger } from 'pino';
import type { SessionData, SessionStore } from './store';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Most sessions kept; past it the one that expires first is dropped. @default 10000 */
  readonly maxSessions?: number;
  /** The clock, in epoch ms (tests inject one). @default Date.now */
  readonly now?: () => number;
}

interface Entry {
  readonly json: string;
  readonly expires: number;
}

/**
 * Sessions in a `Map` of this process. Data is kept as JSON, so a handler cannot change a stored session by
 * mutating an object it read.
 * @example new App({ sessions: { store: new MemoryStore(), secrets: [secret] } })
 */
export class MemoryStore implements SessionStore {
  readonly shared = false;
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #now: () => number;
  #warned = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.#max = options.maxSessions ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Sessions held now (expired ones included until they are next read or evicted). */
  get size(): number {
    return this.#entries.size;
  }

  async get(id: string): Promise<SessionData | undefined> {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.#now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return JSON.parse(entry.json) as SessionData;
  }

  async set(id: string, data: SessionData, ttlSeconds: number): Promise<void> {
    this.#entries.delete(id);
    if (this.#entries.size >= this.#max) this.#evict();
    // A Map keeps insertion order and every entry has the same TTL policy, so the first key expires first.
    this.#entries.set(id, { json: JSON.stringify(data), expires: this.#now() + ttlSeconds * 1000 });
  }

  async destroy(id: string): Promise<void> {
    this.#entries.delete(id);
  }

  /** Log once per store when this process is one of a pool that may hold more than one worker. */
  warnUnshared(log: Logger): void {
    if (this.#warned) return;
    this.#warned = true;
    const slot = process.env['M2POOL_WORKER_SLOT'];
    if (slot === undefined) return;
    const max = Number(process.env['M2POOL_POOL_MAX_WORKERS'] ?? NaN);
    if (max === 1) return;
    log.warn(
      { event: 'session.store.unshared', slot: Number(slot), maxWorkers: Number.isFinite(max) ? max : undefined },
      'session.store.unshared: MemoryStore keeps sessions in one worker, and this pool may run several: a client will see different sessions on different workers. Use RedisStore.',
    );
  }

  #evict(): void {
    const first = this.#entries.keys().next();
    if (first.done !== true) this.#entries.delete(first.value);
  }
}
