/**
 * The pool in `pm2 monit` / `pm2 describe` / `pm2 jlist` (`pm2_env.axm_monitor`): pm2's custom metrics, sent by the
 * supervisor over the IPC channel pm2 gives a fork-mode app. Protocol, as read in pm2 `lib/God/ForkMode.js` (a
 * child message with `type` and `data` goes on pm2's bus as event `type`), `lib/Daemon.js` (the `axm:monitor`
 * handler merges `data` into `pm2_env.axm_monitor`) and tx2 `src/index.js` (the same message every 990 ms):
 * `process.send({ type: 'axm:monitor', data: { '<name>': { value, unit? } } })`.
 *
 * No `@pm2/io` or `tx2`: one message shape needs no library, and `@pm2/io` patches globals (http, console,
 * uncaught-exception handlers) in the process that must stay small and never load user code (docs/architecture.md).
 * @module
 */
import type { Pm2Process } from './pm2-actions';
import { underPm2 } from './pm2-actions';
import type { PoolSnapshot } from './pool-snapshot';

/** How often the metrics are sent (the workers' heartbeats, which carry the counts, come every second by default). */
export const PM2_METRICS_INTERVAL_MS = 2_000;

/** One pm2 custom metric. */
export interface Pm2Metric {
  readonly value: number;
  readonly unit?: string;
}

/** What is counted between two samples: each live worker's `handled` by pid. */
export type HandledByPid = ReadonlyMap<number, number>;

/**
 * The metrics of one snapshot: ready and desired workers, requests per second since the previous sample (the
 * increase of each worker's `handled`, from its heartbeats; a worker new since then counts from 0; 0 for the first
 * sample, `previous` undefined), requests in flight, and the slots' restarts.
 */
export function pm2MetricsOf(snap: PoolSnapshot, previous: HandledByPid | undefined, elapsedMs: number): { readonly data: Record<string, Pm2Metric>; readonly handled: HandledByPid } {
  const handled = new Map<number, number>();
  let answered = 0;
  let inFlight = 0;
  const restartsBySlot = new Map<number, number>();
  for (const w of snap.workers) {
    inFlight += w.inFlight;
    restartsBySlot.set(w.slot, w.restarts);
    if (w.pid === null) continue;
    handled.set(w.pid, w.handled);
    if (previous !== undefined) answered += Math.max(0, w.handled - (previous.get(w.pid) ?? 0));
  }
  for (const b of snap.breaker) restartsBySlot.set(b.slot, b.restarts);
  const restarts = [...restartsBySlot.values()].reduce((a, n) => a + n, 0);
  const perSecond = elapsedMs > 0 ? Math.round((answered * 10_000) / elapsedMs) / 10 : 0;
  return {
    handled,
    data: {
      'ready workers': { value: snap.ready },
      'desired workers': { value: snap.desired },
      'req/s': { value: perSecond, unit: 'req/s' },
      'in flight': { value: inFlight },
      'worker restarts': { value: restarts },
      generation: { value: snap.generation },
    },
  };
}

/** Timers, injectable for tests. */
export interface Pm2MetricsTimers {
  now(): number;
  setInterval(fn: () => void, ms: number): { unref?(): unknown };
  clearInterval(handle: unknown): void;
}

const realTimers: Pm2MetricsTimers = {
  now: () => performance.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

/**
 * Send the pool's metrics to pm2 now and every `intervalMs` until the returned function is called. Does nothing
 * (and returns a no-op) unless running under pm2 (`underPm2`, as for the pm2 actions).
 */
export function reportPm2Metrics(source: { snapshot(): PoolSnapshot }, proc: Pm2Process = process, intervalMs = PM2_METRICS_INTERVAL_MS, timers: Pm2MetricsTimers = realTimers): () => void {
  const send = proc.send;
  if (!underPm2(proc) || send === undefined) return () => undefined;
  let previous: HandledByPid | undefined;
  let lastAt = timers.now();
  let stopped = false;
  const sample = (): void => {
    if (stopped) return;
    const now = timers.now();
    const m = pm2MetricsOf(source.snapshot(), previous, now - lastAt);
    previous = m.handled;
    lastAt = now;
    try {
      send.call(proc, { type: 'axm:monitor', data: m.data });
    } catch {
      // The channel to pm2 is gone (pm2 died): nothing to report to; the pm2 actions log that once.
    }
  };
  sample();
  const handle = timers.setInterval(sample, intervalMs);
  handle.unref?.();
  return () => {
    stopped = true;
    timers.clearInterval(handle);
  };
}
