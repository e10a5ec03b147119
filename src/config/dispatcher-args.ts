/**
 * The supervisor → dispatcher hand-over of settings: the `m2pool dispatcher` flags for every setting a pool may set
 * that the dispatcher takes too (scopes `pool` and `dispatcher` in `settings.ts`), so a new such setting reaches the
 * forked dispatcher with no code of its own. A setting the pool leaves unset is left out: the dispatcher's own
 * default holds.
 * @module
 */
import type { PoolConfig } from './schema';
import { dispatcherFlag, settingsOf, type DispatcherKey } from './settings';

/**
 * `--flag value` pairs of the settings `pool` sets that the dispatcher takes; `overrides` win by key (a key
 * present with `undefined`: left out).
 */
export function dispatcherSettingArgs(pool: PoolConfig, overrides: Readonly<Partial<Record<DispatcherKey, number | string | undefined>>> = {}): string[] {
  const given = pool as Readonly<Record<string, unknown>>;
  return settingsOf('dispatcher')
    .filter((s) => s.pool !== undefined)
    .flatMap((s) => {
      const value = s.key in overrides ? overrides[s.key] : given[s.key];
      return value === undefined ? [] : [`--${dispatcherFlag(s)}`, String(value)];
    });
}
