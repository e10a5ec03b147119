/**
 * The supervisor's pino logger: JSON lines on stdout (pm2 collects them) with `{ role: 'supervisor', pid }`;
 * lines about one worker carry its `slot`, `generation` and `workerPid`.
 * Lifecycle lines carry a stable `event` field that is also the message: `worker.spawn`, `worker.ready`,
 * `worker.drain`, `worker.exit` (code, signal, reason, expected), `worker.kill` (reason), `worker.fatal`,
 * `pool.start`, `pool.scale`, `pool.reload` (outcome started|complete|failed), `pool.ready`, `pool.stop`
 * (outcome started|hurried|stopped), `slot.crashloop`, `admin.listen`, `pm2.action`, `supervisor.loop-error`.
 * @module
 */
import type { DestinationStream, Logger } from 'pino';
import type { LogLevel } from '../../config/log-level';
import { createLogger } from '../../log/logger';

export type { Logger } from 'pino';

/**
 * Build the supervisor logger. By default it writes asynchronously to fd 1 (no blocking write in the loop);
 * call {@link flushLogger} before exiting. Tests pass an in-memory `destination`.
 */
export function createSupervisorLogger(level: LogLevel, destination?: DestinationStream, format: 'json' | 'pretty' = 'json'): Logger {
  return createLogger({
    level,
    format,
    bindings: { role: 'supervisor' },
    ...(destination === undefined ? {} : { destination }),
    // A line about a worker names it `workerPid`: `pid` is already the supervisor's (one key, one meaning).
    renameFields: { pid: 'workerPid' },
  });
}

/** Flush buffered log lines; resolves even if flushing fails (the process is on its way out anyway). */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      logger.flush(() => resolve());
    } catch {
      resolve();
    }
  });
}
