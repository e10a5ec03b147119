/**
 * What a reload does with a re-read configuration: which keys changed, and which it cannot take while running
 * (the admin server is already bound with them). Pure.
 * @module
 */
import type { PoolConfig } from '../../config/schema';

/** Keys a running pool keeps from its start: changing them takes a restart. */
export const FIXED_ON_RELOAD: readonly (keyof PoolConfig)[] = ['admin', 'adminToken', 'adminTokenFile', 'metricsToken'];

/** Top-level keys whose values differ between two validated configs (plain data: JSON equality is exact). */
export function changedKeys(before: PoolConfig, after: PoolConfig): (keyof PoolConfig)[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)] as (keyof PoolConfig)[]);
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}

/** `next` with the running values of {@link FIXED_ON_RELOAD}; `ignored` lists those that were changed. */
export function keepFixed(running: PoolConfig, next: PoolConfig): { readonly config: PoolConfig; readonly ignored: (keyof PoolConfig)[] } {
  const ignored = changedKeys(running, next).filter((k) => FIXED_ON_RELOAD.includes(k));
  if (ignored.length === 0) return { config: next, ignored };
  const kept: Record<string, unknown> = { ...next };
  for (const k of FIXED_ON_RELOAD) {
    if (running[k] === undefined) delete kept[k];
    else kept[k] = running[k];
  }
  return { config: Object.freeze(kept as unknown as PoolConfig), ignored }; // the running config's own values: still a PoolConfig
}
