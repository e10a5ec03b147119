/**
 * pm2 integration, spoken directly over the IPC channel pm2 gives a fork-mode app (no tx2 / @pm2/io needed).
 * Protocol, as read in pm2 `lib/God/ActionMethods.js` (`msgProcess`), `lib/API/Extra.js` (`trigger`),
 * `lib/Daemon.js` (`axm:action` bus handler) and tx2 `src/actions.js`:
 * - register:  `process.send({ type: 'axm:action', data: { action_name, action_type, opts, arity } })`
 * - trigger:   pm2 sends the bare string `action_name` when `pm2 trigger <app> <action>` has no parameter,
 *              else the object `{ msg: action_name, opts: <parameter>, name | id }`.
 * - reply:     `process.send({ type: 'axm:reply', data: { return: <value>, action_name } })`; `pm2 trigger`
 *              prints `return` as JSON.
 * - `wait_ready: true`: pm2 waits for `process.send('ready')`.
 * - `shutdown_with_message: true`: pm2 sends the bare string `'shutdown'` instead of SIGINT.
 * @module
 */
import type { Logger } from '../arbiter/logger';
import type { PoolSnapshot } from './pool-snapshot';
import type { IntentSink } from '../arbiter/signals';
import { parseScaleText, type ReloadResult, type ScaleResult, type ScaleTarget } from '../arbiter/scale-request';
import type { LogLevelResult, LogLevels } from './log-levels';

/**
 * The actions `pm2 trigger <app> …` can run. `loglevel` is registered only for a target that can change log
 * levels: `pm2 trigger <app> loglevel` shows them, `… loglevel debug` sets every process, `… loglevel debug:1`
 * only slot 1.
 */
export const PM2_ACTIONS = Object.freeze(['scale', 'reload', 'status', 'loglevel'] as const);
type ActionName = (typeof PM2_ACTIONS)[number];

/** What the actions drive (implemented by `Supervisor`). */
export interface Pm2Target extends IntentSink {
  snapshot(): PoolSnapshot;
  scale(target: ScaleTarget, source: string): ScaleResult;
  reload(source: string): ReloadResult | Promise<ReloadResult>;
  setLogLevel?(level: string, slot: number | undefined, source: string): LogLevelResult;
  logLevels?(): LogLevels;
}

const LOGLEVEL_USAGE = 'usage: pm2 trigger <app> loglevel [LEVEL[:SLOT]] (e.g. debug, or warn:1 for slot 1 only)';

function logLevelAction(target: Pm2Target, param: unknown): Record<string, unknown> {
  if (param === undefined || param === null || param === '') {
    return target.logLevels === undefined ? { success: false, error: LOGLEVEL_USAGE } : { success: true, ...target.logLevels() };
  }
  const m = typeof param === 'string' ? /^\s*([a-z]+)\s*(?::\s*(\d{1,6}))?\s*$/.exec(param) : null;
  if (m === null || m[1] === undefined || target.setLogLevel === undefined) return { success: false, error: LOGLEVEL_USAGE };
  const r = target.setLogLevel(m[1], m[2] === undefined ? undefined : Number(m[2]), 'pm2');
  return r.ok ? { success: true, level: r.level, previous: r.previous, slot: r.slot, workers: r.workers } : { success: false, error: r.error };
}

/** The part of `process` used here, injectable for tests. */
export interface Pm2Process {
  readonly env: Readonly<Record<string, string | undefined>>;
  send?: ((message: unknown) => boolean) | undefined;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  removeListener(event: 'message', listener: (message: unknown) => void): unknown;
}

/** True when pm2 started this process (it sets `pm_id` and forks with an IPC channel). */
export function underPm2(proc: Pm2Process = process): boolean {
  return proc.env['pm_id'] !== undefined && typeof proc.send === 'function';
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isAction(name: unknown): name is ActionName {
  return PM2_ACTIONS.some((a) => a === name);
}

function reloadReply(r: ReloadResult): Record<string, unknown> {
  return r.ok ? { success: true, generation: r.generation, changed: r.changed ?? [] } : { success: false, error: r.error };
}

/** The reply of an action: at once, or (a reload checks the app first) once it is known. */
function run(target: Pm2Target, name: ActionName, param: unknown): Record<string, unknown> | Promise<Record<string, unknown>> {
  switch (name) {
    case 'status':
      return { success: true, ...target.snapshot() };
    case 'reload': {
      const r = target.reload('pm2');
      return r instanceof Promise ? r.then(reloadReply) : reloadReply(r);
    }
    case 'loglevel':
      return logLevelAction(target, param);
    case 'scale': {
      if (typeof param !== 'string' && typeof param !== 'number') {
        return { success: false, error: 'usage: pm2 trigger <app> scale N|+N|-N' };
      }
      const parsed = parseScaleText(String(param));
      if (!parsed.ok) return { success: false, error: parsed.error };
      const r = target.scale(parsed.target, 'pm2');
      return r.ok ? { success: true, previous: r.previous, desired: r.desired } : { success: false, error: r.error };
    }
  }
}

/**
 * Register the custom actions with pm2 and answer triggers; also turns pm2's `'shutdown'` message into a graceful
 * stop. Does nothing (and returns a no-op) unless running under pm2.
 * @returns a function that stops listening.
 */
export function registerPm2Actions(target: Pm2Target, proc: Pm2Process = process, logger?: Logger): () => void {
  const send = proc.send;
  if (!underPm2(proc) || send === undefined) return () => undefined;
  const post = (message: unknown): void => {
    try {
      send.call(proc, message);
    } catch (err) {
      // The channel to pm2 is gone (pm2 died); nothing to answer to.
      logger?.warn({ event: 'pm2.ipc-error', err }, 'pm2.ipc-error');
    }
  };
  const offered = PM2_ACTIONS.filter((a) => a !== 'loglevel' || target.setLogLevel !== undefined);
  for (const name of offered) {
    post({ type: 'axm:action', data: { action_name: name, action_type: 'custom', opts: null, arity: name === 'scale' || name === 'loglevel' ? 2 : 1 } });
  }
  const onMessage = (message: unknown): void => {
    if (message === 'shutdown') {
      target.recordIntent('stop', 'pm2');
      return;
    }
    const name = isRecord(message) ? message['msg'] : message;
    if (!isAction(name) || !offered.includes(name)) return;
    const param = isRecord(message) ? message['opts'] : undefined;
    const reply = (result: Record<string, unknown>): void => {
      logger?.info({ event: 'pm2.action', action: name, param, success: result['success'] }, 'pm2.action');
      post({ type: 'axm:reply', data: { return: result, action_name: name } });
    };
    const result = run(target, name, param);
    if (result instanceof Promise) void result.then(reply);
    else reply(result);
  };
  proc.on('message', onMessage);
  return () => {
    proc.removeListener('message', onMessage);
  };
}

/** Tell pm2 the app is ready (`wait_ready: true`). Call once `minReady` workers are ready. */
export function announcePm2Ready(proc: Pm2Process = process): boolean {
  if (!underPm2(proc) || proc.send === undefined) return false;
  try {
    return proc.send.call(proc, 'ready');
  } catch {
    return false;
  }
}
