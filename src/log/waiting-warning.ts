/**
 * A warning every few seconds while a process waits for its peers (Mongrel2, or the dispatcher): which endpoints
 * it is waiting on and for how long, so a site that hangs says why in its log instead of staying silent (a pool
 * started next to a Mongrel2 on other sockets used to wait without a word).
 * @module
 */
import type { Logger } from 'pino';

/** How often the warning repeats while something is awaited. @default 3000 */
export const WAITING_WARNING_INTERVAL_MS = 3_000;

/** What a process waiting on Mongrel2 itself suggests. */
export const MONGREL2_HINT = 'is Mongrel2 running with these handler endpoints?';

/** What a worker waiting on a dispatcher suggests (the dispatcher warns about its own Mongrel2). */
export const DISPATCHER_HINT = 'is the dispatcher running? it waits for Mongrel2 before it serves workers';

/** Something with endpoints that may or may not answer (a transport link, a dispatcher's Mongrel2 link). */
export interface Awaited {
  readonly name: string;
  readonly ready: boolean;
}

/**
 * Warn every `intervalMs` (`event`, the names of the links not ready, how long) while any of `links()` is not
 * ready. Returns the function that stops it. The timer does not keep the process alive.
 */
export function warnWhileWaiting(logger: Logger, event: string, links: () => readonly Awaited[], intervalMs: number = WAITING_WARNING_INTERVAL_MS, hint: string = MONGREL2_HINT): () => void {
  let since: number | undefined;
  const timer = setInterval(() => {
    const waiting = links().filter((l) => !l.ready).map((l) => l.name);
    if (waiting.length === 0) {
      since = undefined;
      return;
    }
    const now = Date.now();
    since ??= now - intervalMs;
    logger.warn({ event, waitingFor: waiting, waitedMs: now - since }, `${event}: no answer yet from ${waiting.join(', ')} (${hint})`);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The interval, which `M2POOL_WAITING_WARNING_MS` may shorten (the tests do). */
export function waitingIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env['M2POOL_WAITING_WARNING_MS']);
  return Number.isInteger(n) && n >= 10 ? n : WAITING_WARNING_INTERVAL_MS;
}
