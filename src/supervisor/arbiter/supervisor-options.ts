/**
 * What a `Supervisor` (supervisor.ts) is built from: its configuration, the dependencies tests replace (logger,
 * spawner, clock, randomness, CPU meter), the observer metrics plug in as, and the reload path's two sources.
 * @module
 */
import type { PoolConfig } from '../../config/schema';
import type { Clock } from './clock';
import type { Logger } from './logger';
import type { SupervisorObserver } from './observer';
import { RestartPolicy } from './restart-policy';
import type { SpawnWorker } from './spawn';

/** Loads a configuration's app in a child: resolves with why it does not load, or undefined. */
export type CheckApp = (config: PoolConfig) => Promise<string | undefined>;

/** Dependencies of a `Supervisor`; everything but `config` has a production default. */
export interface SupervisorOptions {
  readonly config: PoolConfig;
  readonly logger?: Logger;
  readonly spawn?: SpawnWorker;
  readonly clock?: Clock;
  /** Source of jitter for backoff and recycling, in [0, 1). */
  readonly random?: () => number;
  /** Receives lifecycle facts (metrics plug in here). */
  readonly observer?: SupervisorObserver;
  /** Machine CPU use since the previous call, for the autoscaler's guard. @default `os.cpus()` deltas */
  readonly cpu?: () => number | undefined;
  /**
   * Re-reads the configuration for a reload (the sources it started from: an edited config file takes effect).
   * Throws `ConfigError`. Without it a reload keeps the configuration and only rolls the code.
   */
  readonly reloadConfig?: () => PoolConfig;
  /**
   * Checks that the (re-read) configuration's app loads before a reload replaces any worker: resolves with why it
   * does not, or undefined (`appCheckProblem` in reload/app-load-check.ts: a child loads it). Without it reloads are not
   * checked.
   */
  readonly checkApp?: CheckApp;
}

/** The restart policy a configuration asks for (backoff and crash-loop breaker). */
export function restartPolicyOf(c: PoolConfig, random: () => number): RestartPolicy {
  return new RestartPolicy({ ...c.restartBackoff, ...c.crashLoop }, random);
}

