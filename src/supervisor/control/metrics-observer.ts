/**
 * Feeds the supervisor's lifecycle facts into the pool metrics (`src/metrics` `PoolMetrics`): worker states,
 * heartbeats, pushed snapshots, restarts by reason, scale events, crash-loop breakers. The supervisor itself never
 * imports prom-client; this adapter is the only link.
 * @module
 */
import type { PoolMetrics, RestartReason } from '../../metrics';
import type { RestartCause, SupervisorObserver } from '../arbiter/observer';

/**
 * The metrics' closed `reason` set for each supervisor cause; causes without an entry (a scale-down, a stop)
 * give a slot no new process and are not counted.
 */
const RESTART_REASON: Readonly<Partial<Record<RestartCause, RestartReason>>> = {
  crash: 'crash',
  exited: 'crash',
  signal: 'killed',
  external: 'killed',
  'heartbeat-timeout': 'heartbeat-timeout',
  'boot-timeout': 'boot-timeout',
  'boot-error': 'boot-failure',
  'app-load-error': 'boot-failure',
  'spawn-error': 'boot-failure',
  'recycle-requests': 'recycle-requests',
  'recycle-rss': 'recycle-rss',
  reload: 'reload',
  superseded: 'reload',
};

/** Map a supervisor restart cause to the metrics' reason label, if it is counted. */
export function restartReasonOf(cause: RestartCause): RestartReason | undefined {
  return RESTART_REASON[cause];
}

/** An observer that records into `metrics`. Pass it as `observer` and mount `metrics.handleMetricsRequest`. */
export function metricsObserver(metrics: PoolMetrics, minReady: number): SupervisorObserver {
  metrics.setMinReady(minReady);
  return {
    workerState(w, state) {
      if (state === 'exited') {
        metrics.setWorkerState(w, null);
        metrics.processGone(w);
      } else {
        metrics.setWorkerState(w, state);
        if (state === 'booting') metrics.slotInUse(w.slot);
      }
    },
    heartbeat(w, hb) {
      metrics.recordHeartbeat(w, { loopLagMs: hb.loopLagMs, rssBytes: hb.rssBytes, inFlight: hb.inFlightMean ?? hb.inFlight, maxInFlight: hb.maxInFlight });
    },
    autoscale(d) {
      metrics.recordAutoscale(d.direction, d.reason, d.desired);
    },
    metrics(w, payload) {
      metrics.ingest(w, payload);
    },
    reload(outcome) {
      metrics.recordReload(outcome);
    },
    minReady(n) {
      metrics.setMinReady(n);
    },
    desired(previous, desired) {
      metrics.setDesired(desired);
      if (desired > previous) metrics.recordScale('up');
      else if (desired < previous) metrics.recordScale('down');
    },
    restart(slot, cause) {
      const reason = restartReasonOf(cause);
      if (reason !== undefined) metrics.recordRestart(slot, reason);
    },
    crashloop(slot, open) {
      metrics.setCrashloop(slot, open);
    },
    slotRemoved(slot) {
      metrics.forgetSlot(slot);
    },
    dispatcherMetrics(d, payload) {
      metrics.ingestDispatcher(d, payload);
    },
    dispatcherState(d, state) {
      if (state === 'exited') metrics.dispatcherGone(d);
    },
    dispatcherRestart(cause) {
      metrics.recordDispatcherRestart(cause);
    },
  };
}
