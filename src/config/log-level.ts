/**
 * The log levels of every m2pool process (supervisor, worker, dispatcher, `m2pool serve`): pino's level names
 * plus `silent`. The one definition; flags, config validation, the admin API and the IPC message all read it.
 * @module
 */

/** pino level names accepted by `logLevel`, `requestLogLevel`, `--log-level` and `PUT /log-level`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of {@link LOG_LEVELS} (the same set as pino's `LevelWithSilent`). */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Is `x` one of {@link LOG_LEVELS}? */
export function isLogLevel(x: unknown): x is LogLevel {
  return LOG_LEVELS.some((l) => l === x);
}
