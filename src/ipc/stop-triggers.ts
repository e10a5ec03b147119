/**
 * The stop triggers every child process of the pool (worker, dispatcher) answers the same way: SIGTERM/SIGINT
 * stop gracefully and a second one exits at once; the supervisor's IPC channel dropping (supervisor gone) stops
 * quickly, so no child outlives it as an orphan. The `m2pool:shutdown` message is the caller's, since each child
 * handles its other supervisor messages on the same listener.
 * @module
 */
import type { Logger } from 'pino';
import { ExitCode } from '../errors';

/**
 * The supervisor names itself (its pid) to the dispatcher it forks in this variable: only a child whose parent is
 * that process defers its first signal to it. pm2 forks with an IPC channel too, and a dispatcher that took pm2 for
 * its supervisor ignored pm2's SIGINT until pm2 SIGKILLed it 45 s later.
 */
export const SUPERVISOR_PID_ENV = 'M2POOL_SUPERVISOR_PID';

/** Drain budget when the supervisor vanished: finish quickly, never linger as an orphan. */
export const ORPHAN_DRAIN_MS = 2_000;

/** What {@link listenForStopTriggers} needs. */
export interface StopTriggers {
  /** `worker` or `dispatcher`: the prefix of the `.exit.forced` event. */
  readonly role: string;
  readonly logger: Logger;
  readonly drainTimeoutMs: number;
  /** A stop was already asked for (a second signal then exits at once). */
  isStopping(): boolean;
  /** Begin the graceful stop; idempotent. */
  stop(reason: string, drainMs: number): void;
  /**
   * While a supervisor is connected, leave the first SIGTERM/SIGINT to it (it stops this child in its own order,
   * e.g. the dispatcher after the workers drained). A signal sent to the whole process group reaches every
   * child at once; the supervisor's shutdown, or its channel dropping, still stops this one. Only for a child
   * forked by the m2pool supervisor ({@link SUPERVISOR_PID_ENV}), never for one pm2 runs.
   */
  readonly deferToSupervisor?: boolean;
}

/** Install the signal and channel listeners. */
export function listenForStopTriggers(t: StopTriggers): void {
  let deferred = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (t.deferToSupervisor === true && process.connected && !t.isStopping() && !deferred) {
      deferred = true;
      t.logger.debug({ event: `${t.role}.signal.deferred`, signal }, 'signal left to the supervisor, which stops this process in order');
      return;
    }
    if (t.isStopping() || deferred) {
      t.logger.warn({ event: `${t.role}.exit.forced`, signal }, 'second signal: exiting now');
      t.logger.flush();
      process.exit(ExitCode.CRASH);
    }
    t.stop(signal, t.drainTimeoutMs);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('disconnect', () => t.stop('supervisor-gone', Math.min(ORPHAN_DRAIN_MS, t.drainTimeoutMs)));
  // The parent may have died before we even listened for 'disconnect'.
  if (process.send !== undefined && !process.connected) t.stop('supervisor-gone', Math.min(ORPHAN_DRAIN_MS, t.drainTimeoutMs));
}
