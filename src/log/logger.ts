/**
 * pino factory: JSON lines on stdout, one event per line, stable `msg`, details as fields; or the same lines
 * through pino-pretty for a terminal (`format: 'pretty'`, see log-format.ts).
 * @module
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { requestMixin } from './request-context';
import { logFormatFromEnv, type LogFormat } from './log-format';

/** Settings for {@link createLogger}. */
export interface LoggerOptions {
  /** One of `LOG_LEVELS` (config/log-level.ts). @default 'info' */
  readonly level?: string;
  /** Fields on every line, e.g. `{ role: 'worker', slot: 0, generation: 1 }`. */
  readonly bindings?: Record<string, unknown>;
  /** Where lines go. @default stdout (asynchronous, flushed at exit) */
  readonly destination?: DestinationStream;
  /** Rename fields of logged objects, e.g. `{ pid: 'workerPid' }` so a line never holds two `pid` keys. */
  readonly renameFields?: Readonly<Record<string, string>>;
  /** Add the current request's `requestId` to lines written inside a request (`asyncContext`; see request-context.ts). @default false */
  readonly requestMixin?: boolean;
  /** `json` or `pretty` (ignored when `destination` is given). @default M2POOL_LOG_FORMAT, else json */
  readonly format?: LogFormat;
}

/**
 * pino-pretty writing to stdout, loaded only when asked for (the JSON path never loads it). Synchronous: its
 * lines interleave with nothing else of this process, and a person reading a terminal is not a hot path.
 */
function prettyStdout(): DestinationStream {
  // NOTE: require, not import: pino-pretty stays unloaded in every process that logs JSON.
  const pretty = require('pino-pretty') as (options: Record<string, unknown>) => DestinationStream;
  return pretty({ sync: true, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'hostname' });
}

/** Build a logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? logFormatFromEnv();
  const destination = options.destination ?? (format === 'pretty' ? prettyStdout() : pino.destination({ dest: 1, sync: false }));
  const renames = Object.entries(options.renameFields ?? {});
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid, ...options.bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      ...(options.requestMixin === true ? { mixin: requestMixin } : {}),
      ...(renames.length === 0
        ? {}
        : {
            formatters: {
              log(object: Record<string, unknown>): Record<string, unknown> {
                if (!renames.some(([from]) => from in object)) return object;
                const out: Record<string, unknown> = {};
                for (const [key, value] of Object.entries(object)) out[options.renameFields?.[key] ?? key] = value;
                return out;
              },
            },
          }),
    },
    destination,
  );
}
