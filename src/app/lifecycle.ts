/**
 * Start and stop hooks: what an app opens before it takes traffic (a database pool, a warm
 * cache) and closes after the last request. `m2pool worker` runs the start hooks before it connects to Mongrel2 or
 * registers with the dispatcher, and the stop hooks after its drain; `m2pool serve` before it listens and after it
 * closed; tests call `app.start()` / `app.stop()` themselves (`app.request()` does not).
 * @module
 */

import { ErrorCode, M2PoolError, errorMessage } from '../errors';

/**
 * A start or stop hook. `signal` aborts when the hooks' deadline passes: pass it to what waits (a connect, a
 * query), so a hook that overran stops its work instead of racing the process exit.
 */
export type LifecycleHook = (signal: AbortSignal) => unknown;

/** Options of `app.start()` and `app.stop()`. */
export interface LifecycleOptions {
  /** Deadline for all hooks of the phase together, in ms. @default the app's `startTimeoutMs` / `stopTimeoutMs` */
  readonly timeoutMs?: number;
}

/** Default of `AppOptions.startTimeoutMs`. */
export const DEFAULT_START_TIMEOUT_MS = 10_000;

/** Default of `AppOptions.stopTimeoutMs`. */
export const DEFAULT_STOP_TIMEOUT_MS = 5_000;

/**
 * The registered hooks and the state of each phase. `start` runs once (later calls join the first); a failed start
 * stays failed. `stop` runs once, in reverse registration order (what was opened first closes last), every hook even
 * when an earlier one failed.
 */
export class Lifecycle {
  readonly #startHooks: LifecycleHook[] = [];
  readonly #stopHooks: LifecycleHook[] = [];
  #started: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;

  /** Whether any start hook is registered. */
  get hasStartHooks(): boolean {
    return this.#startHooks.length > 0;
  }

  onStart(hook: LifecycleHook): void {
    checkHook('onStart', hook);
    if (this.#started !== undefined) throw new TypeError('onStart: the app has already started');
    this.#startHooks.push(hook);
  }

  onStop(hook: LifecycleHook): void {
    checkHook('onStop', hook);
    if (this.#stopped !== undefined) throw new TypeError('onStop: the app has already stopped');
    this.#stopHooks.push(hook);
  }

  /** Run the start hooks in order. Rejects with `M2PoolError(APP_HOOK)` on the first failure or at the deadline. */
  start(timeoutMs: number): Promise<void> {
    this.#started ??= this.#runStart(timeoutMs);
    return this.#started;
  }

  /**
   * Run the stop hooks in reverse order. Rejects with `M2PoolError(APP_HOOK)` naming every hook that failed or the
   * deadline, after all of them ran (or the deadline passed).
   */
  stop(timeoutMs: number): Promise<void> {
    this.#stopped ??= this.#runStop(timeoutMs);
    return this.#stopped;
  }

  async #runStart(timeoutMs: number): Promise<void> {
    const hooks = [...this.#startHooks];
    await withDeadline('start', timeoutMs, async (signal) => {
      for (const [i, hook] of hooks.entries()) {
        try {
          await hook(signal);
        } catch (err) {
          if (signal.aborted) return;
          throw new M2PoolError(ErrorCode.APP_HOOK, `start hook ${describe(hook, i)} failed: ${errorMessage(err)}`, { cause: err });
        }
      }
    });
  }

  async #runStop(timeoutMs: number): Promise<void> {
    const hooks = [...this.#stopHooks].reverse();
    const failures: string[] = [];
    await withDeadline('stop', timeoutMs, async (signal) => {
      for (const [i, hook] of hooks.entries()) {
        if (signal.aborted) return;
        try {
          await hook(signal);
        } catch (err) {
          failures.push(`${describe(hook, hooks.length - 1 - i)}: ${errorMessage(err)}`);
        }
      }
    });
    if (failures.length > 0) throw new M2PoolError(ErrorCode.APP_HOOK, `stop hooks failed: ${failures.join('; ')}`);
  }
}

/** Run `work` with a signal that aborts after `timeoutMs`; reject with APP_HOOK when the deadline comes first. */
function withDeadline(phase: string, timeoutMs: number, work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new M2PoolError(ErrorCode.APP_HOOK, `${phase} hooks did not finish within ${timeoutMs} ms`);
      controller.abort(err);
      reject(err);
    }, timeoutMs);
    work(controller.signal).then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

function checkHook(what: string, hook: unknown): void {
  if (typeof hook !== 'function') throw new TypeError(`${what}: a hook must be a function, got ${typeof hook}`);
}

function describe(hook: LifecycleHook, index: number): string {
  return hook.name === '' ? `#${index + 1}` : `#${index + 1} (${hook.name})`;
}
