/**
 * The pool configuration: its type and the frozen defaults every other source is layered on, both derived from
 * the settings table (`settings.ts`, where each key's meaning, check and default are).
 * Precedence (see `load.ts`): CLI flags > `M2POOL_*` env vars > JSON config file > {@link DEFAULTS}.
 * @module
 */
import { defaultsOf, type PoolDefaultedKey, type PoolSettings, type SettingGroup, type Topology } from './settings';
import type { AutoscaleSettings } from './autoscale';

/** How requests reach the workers. */
export type { Topology };

/**
 * The whole, validated, deep-frozen pool configuration. Worker settings left unset here (the in-flight cap, …) take
 * the worker's defaults (`workerConfigOf` in `worker-config-of.ts` fills them in); dispatcher ones left unset
 * (the queue limit, …) the dispatcher's (`dispatcher-args.ts` passes only what is set).
 */
export type PoolConfig = PoolSettings & {
  /** Restart backoff per slot: full-jitter exponential delay between respawns of a failing slot. */
  readonly restartBackoff: SettingGroup<'restartBackoff'>;
  /** Crash-loop breaker per slot: `maxFailures` boot failures within `windowMs` stop that slot respawning. */
  readonly crashLoop: SettingGroup<'crashLoop'>;
  /** The autoscaler (`supervisor/autoscaling/autoscaler.ts`); absent = off, the desired count changes only by hand. */
  readonly autoscale?: AutoscaleSettings;
};

/** Shape of {@link DEFAULTS}. */
export type PoolDefaults = Pick<PoolConfig, PoolDefaultedKey | 'restartBackoff' | 'crashLoop'>;

/** Every default, frozen. */
export const DEFAULTS = defaultsOf('pool') as PoolDefaults;
