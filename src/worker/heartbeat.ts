/**
 * Heartbeat from the worker's event loop to the supervisor. A blocked loop sends nothing, which is exactly
 * what the supervisor's heartbeat timeout detects (ZMTP heartbeats cannot: docs/zeromq.md §2.7).
 * @module
 */
import type { WorkerMessage } from '../ipc/messages';

/** What the heartbeat reports besides lag. */
export interface HeartbeatSource {
  readonly inFlight: number;
  readonly handled: number;
  /** Requests in flight integrated over time (request·ms) since the previous call (`WorkerStats.takeInFlightArea`). */
  takeInFlightArea?(): number;
  /** Connections with a request in flight for at least `minAgeMs` (see `m2pool:heartbeat`'s `waiting`). */
  waiting?(minAgeMs: number): readonly string[];
  /** Links that reach Mongrel2 right now (see `m2pool:heartbeat`'s `linksReady`). */
  readonly linksReady?: number;
  /** The dispatcher's credit in use per worker slot. */
  grants?(): Readonly<Record<string, number>>;
}

/** Send `m2pool:heartbeat` every `intervalMs` through `send`. Returns a stop function. */
export function startHeartbeat(intervalMs: number, source: HeartbeatSource, send: (msg: WorkerMessage) => void): () => void {
  let last = performance.now();
  let lastElu = performance.eventLoopUtilization();
  const beat = (): void => {
    const now = performance.now();
    const elu = performance.eventLoopUtilization();
    const eventLoopUtilization = performance.eventLoopUtilization(elu, lastElu).utilization;
    lastElu = elu;
    const loopLagMs = Math.max(0, now - last - intervalMs);
    const area = source.takeInFlightArea?.();
    const inFlightMean = area === undefined || now <= last ? undefined : Math.round((area / (now - last)) * 1000) / 1000;
    last = now;
    const waiting = source.waiting?.(intervalMs) ?? [];
    send({
      type: 'm2pool:heartbeat',
      inFlight: source.inFlight,
      ...(inFlightMean === undefined ? {} : { inFlightMean }),
      handled: source.handled,
      loopLagMs: Math.round(loopLagMs * 10) / 10,
      rssBytes: process.memoryUsage.rss(),
      eventLoopUtilization: Math.round(eventLoopUtilization * 1000) / 1000,
      ...(waiting.length > 0 ? { waiting } : {}),
      ...(source.linksReady === undefined ? {} : { linksReady: source.linksReady }),
      ...(source.grants === undefined ? {} : { grants: source.grants() }),
    });
  };
  const timer = setInterval(beat, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
