/**
 * The `autoscale` settings (docs/runbook.md "Autoscaling"), the `autoscale.*` entries of the settings table:
 * their type and defaults, shared by the validator and the supervisor's autoscaler
 * (`supervisor/autoscaling/autoscale-policy.ts` decides with them, `supervisor/autoscaling/autoscaler.ts` samples every `intervalMs`).
 * Autoscaling is off unless `autoscale.min` and `autoscale.max` are given.
 * @module
 */
import { groupDefaults, type SettingGroup } from './settings';

/** Autoscaler settings (config `autoscale`); each is described in `settings.ts`. */
export type AutoscaleSettings = SettingGroup<'autoscale'>;

/** Defaults for the fields `autoscale: { min, max }` leaves out. */
export const AUTOSCALE_DEFAULTS = groupDefaults('autoscale') as Omit<AutoscaleSettings, 'min' | 'max'>;
