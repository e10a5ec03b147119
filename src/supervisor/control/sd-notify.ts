/**
 * systemd readiness without a native module: when systemd started the process with `Type=notify`
 * (`NOTIFY_SOCKET` is set), run the `systemd-notify` binary. The message then comes from a child process, so
 * the unit needs `NotifyAccess=all` (deploy/systemd/m2pool.service); `--pid` names this process as the main
 * one. systemd-notify (systemd ≥ 246) waits until systemd has processed the message, so the child's quick exit
 * cannot make systemd drop it.
 *
 * Called once: {@link notifyReady} when the supervisor tells pm2 it is ready (the minimum of workers ready;
 * `cli/start-command.ts`). Outside systemd every call is a no-op resolving `false`.
 * @module
 */
import { execFile } from 'node:child_process';

/** Options of the notify calls; the defaults suit production, tests override them. */
export interface SdNotifyOptions {
  /** Environment to read `NOTIFY_SOCKET` from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The binary to run. @default 'systemd-notify' (from PATH) */
  readonly binary?: string;
  /** PID systemd should see as the main process. @default process.pid */
  readonly pid?: number;
  /** Give up after this long (systemd-notify blocks until systemd answered). @default 5000 */
  readonly timeoutMs?: number;
}

/**
 * Send `assignments` (e.g. `READY=1`, `STATUS=...`) to systemd. Resolves `true` when sent, `false` outside
 * systemd or when systemd-notify failed (readiness is best effort: a failure must never stop the pool; systemd's
 * TimeoutStartSec then reports it).
 */
export function sdNotify(assignments: readonly string[], options: SdNotifyOptions = {}): Promise<boolean> {
  const env = options.env ?? process.env;
  const socket = env['NOTIFY_SOCKET'];
  if (socket === undefined || socket === '') return Promise.resolve(false);
  const args = [`--pid=${options.pid ?? process.pid}`, ...assignments];
  return new Promise((resolve) => {
    execFile(options.binary ?? 'systemd-notify', args, { env: { ...env }, timeout: options.timeoutMs ?? 5_000 }, (err) => resolve(err === null));
  });
}

/** `READY=1` with a status line. */
export function notifyReady(status: string, options?: SdNotifyOptions): Promise<boolean> {
  return sdNotify(['READY=1', `STATUS=${status}`], options);
}
