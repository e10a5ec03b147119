/**
 * The kinds of app `--app` accepts (`--app-kind`): m2pool's own `App`, a fetch-style app (Hono), a node:http
 * listener (Express), or `auto` (told apart by the export's shape: `adapters/detect.ts`). A leaf, so the
 * configuration can check the setting without loading the adapters.
 * @module
 */
import type { Check } from './checks';

/** The kinds of app `--app` accepts. */
export const APP_KINDS = ['auto', 'm2pool', 'fetch', 'node'] as const;

/** One of {@link APP_KINDS}. */
export type AppKind = (typeof APP_KINDS)[number];

/** True for one of {@link APP_KINDS}. */
export function isAppKind(value: unknown): value is AppKind {
  return typeof value === 'string' && (APP_KINDS as readonly string[]).includes(value);
}

/** The configuration check of an app kind. */
export const appKind: Check<AppKind> = (v) => (isAppKind(v) ? { value: v } : { problem: `must be one of ${APP_KINDS.join(', ')}, got ${JSON.stringify(v)}` });
