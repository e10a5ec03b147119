/**
 * The two lifecycle log lines whose level and wording depend on the circumstances: `worker.kill` and
 * `worker.exit`. Levels follow gunicorn's reaper: an exit we asked for is info, a stray SIGKILL is an error with
 * an "out of memory?" hint, a crash or boot failure is an error.
 * @module
 */
import type { Logger } from './logger';
import type { ExitVerdict, KillReason } from './restart-policy';
import type { WorkerHandle } from './worker-handle';

const KILL_WHY: Readonly<Record<KillReason, string>> = {
  'heartbeat-timeout': 'no heartbeat within heartbeatTimeoutMs: its event loop is blocked or it hangs',
  'boot-timeout': 'not ready within bootTimeoutMs',
  'drain-timeout': 'still running after drainTimeoutMs: in-flight requests are cut off',
  'shutdown-timeout': 'still running when shutdownTimeoutMs ran out',
  'fast-stop': 'fast stop',
};

/** Log `worker.kill` just before the supervisor SIGKILLs a worker. */
export function logKill(log: Logger, w: WorkerHandle, reason: KillReason, fields: Record<string, unknown>): void {
  const line = { event: 'worker.kill', slot: w.slot, pid: w.pid, generation: w.generation, reason, signal: 'SIGKILL', why: KILL_WHY[reason], ...fields };
  if (reason === 'fast-stop') log.warn(line, 'worker.kill');
  else log.error(line, 'worker.kill');
}

function hint(w: WorkerHandle, v: ExitVerdict): string | undefined {
  const exit = w.exit;
  if (w.spawnError !== undefined) return `could not start the worker: ${w.spawnError}`;
  if (exit === undefined || v.expected) return undefined;
  if (exit.signal === 'SIGKILL' && w.killReason === undefined) return 'killed by SIGKILL from outside the supervisor (out of memory?)';
  if (v.reason === 'boot-error') return 'the worker could not connect to Mongrel2 within its boot timeout';
  if (v.reason === 'app-load-error') return 'the app module failed to load';
  if (v.reason === 'exited') return 'exited on its own with code 0 without being asked';
  return undefined;
}

/** Log `worker.exit` with code, signal, reason, expected, uptime and whatever the caller adds. */
export function logExit(log: Logger, w: WorkerHandle, v: ExitVerdict, now: number, extra: Record<string, unknown>): void {
  const exit = w.exit;
  const line = {
    event: 'worker.exit',
    slot: w.slot,
    pid: w.pid,
    generation: w.generation,
    code: exit?.code ?? null,
    signal: exit?.signal ?? null,
    reason: v.reason,
    expected: v.expected,
    uptimeMs: (exit?.at ?? now) - w.spawnedAt,
    ...(w.fatal !== undefined ? { fatal: w.fatal } : {}),
    ...(hint(w, v) !== undefined ? { hint: hint(w, v) } : {}),
    ...extra,
  };
  if (!v.expected) log.error(line, 'worker.exit');
  else if (w.killReason !== undefined || (exit?.code !== 0 && exit?.code !== null)) log.warn(line, 'worker.exit');
  else log.info(line, 'worker.exit');
}
