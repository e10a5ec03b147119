/**
 * The log format: `json` (one pino JSON line per event: the default, and what pm2, journald and log shippers
 * want) or `pretty` (pino-pretty, coloured when the output is a terminal: for a person at a terminal). A
 * process-wide presentation setting: `--log-format` or `M2POOL_LOG_FORMAT`; the supervisor hands it to the
 * processes it forks in the same variable.
 * @module
 */
import { settingFlag, type FlagSpec } from '../config/flags';
import { settingOf } from '../config/settings';

/** The formats. */
export const LOG_FORMATS = ['json', 'pretty'] as const;

/** One of {@link LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The variable a process (and every process the supervisor forks) reads its format from. */
export const LOG_FORMAT_ENV = 'M2POOL_LOG_FORMAT';

/** True for one of {@link LOG_FORMATS}. */
export function isLogFormat(value: unknown): value is LogFormat {
  return value === 'json' || value === 'pretty';
}

/** The format `M2POOL_LOG_FORMAT` asks for (json when unset or unknown). */
export function logFormatFromEnv(env: NodeJS.ProcessEnv = process.env): LogFormat {
  return env[LOG_FORMAT_ENV] === 'pretty' ? 'pretty' : 'json';
}

/** `--log-format` of `worker`, `dispatcher` and `serve` (`start` has it as the configuration key `logFormat`). */
export const LOG_FORMAT_FLAG: FlagSpec = settingFlag(settingOf('logFormat'), 'pool');

/** Apply a `--log-format` flag to this process (its loggers read the variable). Returns a problem, or undefined. */
export function applyLogFormatFlag(value: unknown, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (value === undefined) return undefined;
  if (!isLogFormat(value)) return `--log-format must be one of ${LOG_FORMATS.join(', ')}, got ${JSON.stringify(value)}`;
  env[LOG_FORMAT_ENV] = value;
  return undefined;
}
