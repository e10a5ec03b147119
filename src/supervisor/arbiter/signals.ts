/**
 * Signal → intent table (gunicorn / Unicorn muscle memory). Handlers only record the intent and wake the
 * reconcile loop — no logging, no decisions — exactly like gunicorn's `Arbiter.signal`; the loop then acts on
 * each ({@link actOnIntent}).
 * @module
 */
import type { Logger } from './logger';
import type { PoolPhase } from './pool-state';
import type { ScaleResult, ScaleTarget } from './scale-request';

/** What a signal asks the pool to do. */
export type PoolIntent = 'stop' | 'fast-stop' | 'reload' | 'scale-up' | 'scale-down';

/** Signals the supervisor handles. */
export type PoolSignal = 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGHUP' | 'SIGTTIN' | 'SIGTTOU';

/**
 * The table. TERM (systemd, Docker) and INT (pm2's default kill signal, Ctrl-C) stop gracefully; a second one
 * while stopping hurries the stop (the supervisor turns a repeated `stop` into `fast-stop`). QUIT stops fast,
 * HUP rolls the workers to a new generation, TTIN / TTOU add / remove one worker.
 */
export const SIGNAL_INTENTS: Readonly<Record<PoolSignal, PoolIntent>> = Object.freeze({
  SIGTERM: 'stop',
  SIGINT: 'stop',
  SIGQUIT: 'fast-stop',
  SIGHUP: 'reload',
  SIGTTIN: 'scale-up',
  SIGTTOU: 'scale-down',
});

/** Receives intents; the supervisor queues them for its loop. */
export interface IntentSink {
  recordIntent(intent: PoolIntent, source: string): void;
}

/** The part of `process` used here, injectable for tests. */
export interface SignalSource {
  on(signal: PoolSignal, listener: () => void): unknown;
  removeListener(signal: PoolSignal, listener: () => void): unknown;
}

/**
 * Install one handler per signal in {@link SIGNAL_INTENTS}. Installing a handler also replaces Node's default
 * action (exit on TERM/INT/HUP/QUIT, stop on TTIN/TTOU).
 * @returns a function that removes the handlers again.
 */
export function installSignalHandlers(sink: IntentSink, source: SignalSource = process): () => void {
  const installed: Array<[PoolSignal, () => void]> = [];
  for (const [sig, intent] of Object.entries(SIGNAL_INTENTS) as Array<[PoolSignal, PoolIntent]>) {
    const handler = (): void => sink.recordIntent(intent, sig);
    source.on(sig, handler);
    installed.push([sig, handler]);
  }
  return () => {
    for (const [sig, handler] of installed) source.removeListener(sig, handler);
  };
}

/** What acting on an intent calls: the supervisor's own entry points. */
export interface IntentTarget {
  /** While `stopping`, a second stop intent hurries the stop. */
  readonly phase: PoolPhase;
  stop(mode: 'graceful' | 'fast'): Promise<void>;
  reload(source: string): Promise<unknown>;
  scale(target: ScaleTarget, source: string): ScaleResult;
}

/** Loop step: act on one recorded intent. A refused scale is logged here; a refused reload where it is refused. */
export function actOnIntent(pool: IntentTarget, intent: PoolIntent, source: string, log: Logger): void {
  if (intent === 'stop') void pool.stop(pool.phase === 'stopping' ? 'fast' : 'graceful');
  else if (intent === 'fast-stop') void pool.stop('fast');
  else if (intent === 'reload') void pool.reload(source);
  else {
    const r = pool.scale({ delta: intent === 'scale-up' ? 1 : -1 }, source);
    if (!r.ok) log.warn({ event: 'pool.scale', outcome: 'rejected', source, error: r.error }, 'pool.scale');
  }
}
