/**
 * The reload path (gunicorn's `reload`, out of the arbiter's loop): re-read the configuration, load its app in a
 * child, and only then start the rolling reload to generation+1: every slot's breaker and backoff reset (new code
 * may fix a crash loop), the reconcile loop (`arbiter/reconcile.ts`) replaces each slot's worker, the old one
 * draining once its replacement is ready. An invalid configuration (400) or an app that does not load (422)
 * refuses the reload, logged and counted, and nothing changes: the running workers keep serving.
 * @module
 */
import type { PoolConfig } from '../../config/schema';
import type { Clock } from '../arbiter/clock';
import type { Logger } from '../arbiter/logger';
import type { Notify } from '../arbiter/observer';
import type { PoolState } from '../arbiter/pool-state';
import { EMPTY_HISTORY } from '../arbiter/restart-policy';
import { POOL_STOPPING, type ReloadResult } from '../arbiter/scale-request';
import { breakerOpen } from '../arbiter/slot';
import type { CheckApp } from '../arbiter/supervisor-options';
import { rereadConfig, type Reread } from './config-reread';

/** What a reload reads and calls; the supervisor wires it. */
export interface ReloadDeps {
  readonly state: PoolState;
  readonly log: Logger;
  readonly clock: Clock;
  readonly notify: Notify;
  /** The configuration in force. */
  readonly config: () => PoolConfig;
  /** Re-reads the configuration from its sources (throws `ConfigError`); undefined: keep it, roll the code only. */
  readonly reloadConfig: (() => PoolConfig) | undefined;
  /** Checks a configuration's app before any worker is replaced; undefined: reloads are not checked. */
  readonly checkApp: CheckApp | undefined;
  /** Make `next` the configuration in force (new workers, the loop, the dispatcher, log levels, autoscaling). */
  readonly apply: (next: PoolConfig, previous: PoolConfig) => void;
  /** Schedule a loop pass soon. */
  readonly wake: () => void;
}

/**
 * The desired count a reload leaves: the config's `workers` when that changed (and autoscaling is off: then the
 * autoscaler owns the count), else the current count within the new bounds — a count set by scaling survives a
 * plain reload.
 */
export function desiredAfterReload(next: PoolConfig, previous: PoolConfig, desired: number): number {
  const [lo, hi] = next.autoscale === undefined ? [next.minWorkers, next.maxWorkers] : [next.autoscale.min, next.autoscale.max];
  return next.workers !== previous.workers && next.autoscale === undefined ? next.workers : Math.min(Math.max(desired, lo), hi);
}

/** Reloads of one pool, checked ones in turn. */
export class Reloader {
  readonly #d: ReloadDeps;
  /** The checked reloads in turn: each re-reads and checks against what the previous one left. */
  #reloads: Promise<unknown> = Promise.resolve();

  constructor(deps: ReloadDeps) {
    this.#d = deps;
  }

  /**
   * Re-read, check, then begin a rolling reload (see the module comment). A reload during a reload restarts it at
   * the next generation. Without `checkApp` the reload begins before this returns.
   */
  reload(source: string): Promise<ReloadResult> {
    if (this.#stopping()) return Promise.resolve(POOL_STOPPING);
    const check = this.#d.checkApp;
    if (check === undefined) return Promise.resolve(this.#begin(source, this.#reread(source)));
    const next = this.#reloads.then(async (): Promise<ReloadResult> => {
      const reread = this.#reread(source);
      if (!reread.ok) return this.#begin(source, reread);
      const problem = await check(reread.config).catch((err: unknown) => `the app check failed: ${String(err)}`);
      if (problem === undefined) return this.#begin(source, reread);
      if (this.#stopping()) return POOL_STOPPING;
      const app = reread.config.app;
      this.#d.log.error({ event: 'pool.reload', outcome: 'refused', reason: 'app-broken', source, app, problem }, 'pool.reload');
      this.#d.notify('reload', 'app-broken');
      return { ok: false, status: 422, error: `reload refused, the running workers keep serving: --app ${JSON.stringify(app)} does not load: ${problem}` };
    });
    this.#reloads = next.catch(() => undefined); // one failed reload never blocks the next
    return next;
  }

  #stopping(): boolean {
    const phase = this.#d.state.phase;
    return phase === 'stopping' || phase === 'stopped';
  }

  /** The configuration a reload would run with (the running one without a config source); nothing changes yet. */
  #reread(source: string): Reread {
    const running = this.#d.config();
    if (this.#d.reloadConfig === undefined) return { ok: true, config: running, changed: [] };
    return rereadConfig(running, this.#d.reloadConfig, this.#d.log, source);
  }

  #begin(source: string, reread: Reread): ReloadResult {
    const { state: st, notify } = this.#d;
    if (this.#stopping()) return POOL_STOPPING;
    if (!reread.ok) {
      notify('reload', 'config-invalid');
      return reread;
    }
    if (reread.changed.length > 0) this.#d.apply(reread.config, this.#d.config());
    const now = this.#d.clock.now();
    st.generation += 1;
    st.rollout = { generation: st.generation, startedAt: now, failed: false };
    for (const s of st.slots.values()) {
      if (breakerOpen(s)) notify('crashloop', s.slot, false);
      s.history = EMPTY_HISTORY;
      s.nextSpawnAt = Math.min(s.nextSpawnAt, now);
    }
    this.#d.log.info({ event: 'pool.reload', outcome: 'started', generation: st.generation, source, changed: reread.changed }, 'pool.reload');
    notify('reload', 'started');
    this.#d.wake();
    return { ok: true, generation: st.generation, changed: reread.changed };
  }
}
