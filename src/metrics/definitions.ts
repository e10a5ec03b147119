/**
 * Every m2pool metric in one place: names (prefix `m2pool_`, unit in the name), help texts, label names and the
 * closed sets their values come from. Plain data, no prom-client objects: workers build their registry from
 * {@link WORKER_METRICS}, the supervisor validates worker snapshots against the same specs and builds its own
 * registry from {@link SUPERVISOR_METRICS}.
 *
 * Label rule (docs/contributing.md#metric-names-and-labels): label values come from a closed set — a `slot` number, a route *pattern*,
 * a method from {@link HTTP_METHODS} — never a pid or a raw path, so restarts do not churn series.
 * @module
 */

/** Prometheus metric types m2pool defines. */
export type MetricKind = 'counter' | 'gauge' | 'histogram';

/** Base units used in names (OpenMetrics `# UNIT`); the name always ends with `_<unit>` (or `_<unit>_total`). */
export type MetricUnit = 'seconds' | 'bytes';

/** One metric family as data. */
export interface MetricSpec {
  /** Full name as registered in prom-client (counters end in `_total`). */
  readonly name: string;
  readonly help: string;
  readonly kind: MetricKind;
  /** Label names in exposition order; `slot` is added by the supervisor for per-slot worker gauges. */
  readonly labelNames: readonly string[];
  readonly unit?: MetricUnit;
  /** Histogram upper bounds (without +Inf), ascending. */
  readonly buckets?: readonly number[];
}

/**
 * How the supervisor combines a worker-side metric over worker processes:
 * - `sum`: pool-wide total without a slot label; counters and histograms of exited processes stay in it.
 * - `slot-sum` / `slot-max`: per-slot gauge (label `slot`) over the *live* processes of the slot (a slot holds two
 *   processes while a replacement boots next to a draining one); gauges of exited processes are dropped.
 */
export type PoolMerge = 'sum' | 'slot-sum' | 'slot-max';

/** A metric owned by workers and merged by the supervisor. */
export interface WorkerMetricSpec extends MetricSpec {
  readonly merge: PoolMerge;
}

/** The label the supervisor adds to per-slot series. Reserved: no worker metric may use it. */
export const SLOT_LABEL = 'slot';

/** `route` label value for requests no route matched (404/405 from the router): the app's own constant. */
export { UNMATCHED_ROUTE } from './labels';

/** `route` label value once a worker has seen more distinct routes than its cardinality cap. */
export const OVERFLOW_ROUTE = '(overflow)';

/** Longest label value a worker may send; the supervisor rejects snapshots with longer ones. */
export const MAX_LABEL_VALUE_LENGTH = 256;

/** `status_class` and `method` label values (defined with their mappers, below this file). */
export { HTTP_METHODS, STATUS_CLASSES, type HttpMethodLabel, type StatusClass } from './labels';

/** `state` values of `m2pool_workers` (exited workers are not counted). */
export const WORKER_STATES = ['booting', 'ready', 'draining'] as const;
/** One of {@link WORKER_STATES}. */
export type WorkerStateLabel = (typeof WORKER_STATES)[number];

/** `reason` values of `m2pool_worker_restarts_total`: why a slot got a new process. */
export const RESTART_REASONS = [
  'crash',
  'heartbeat-timeout',
  'boot-timeout',
  'boot-failure',
  'recycle-requests',
  'recycle-rss',
  'reload',
  'killed',
] as const;
/** One of {@link RESTART_REASONS}. */
export type RestartReason = (typeof RESTART_REASONS)[number];

/** `outcome` values of `m2pool_pool_reloads_total`: begun, or refused (invalid configuration, app does not load). */
export const RELOAD_OUTCOMES = ['started', 'config-invalid', 'app-broken'] as const;
/** One of {@link RELOAD_OUTCOMES}. */
export type ReloadOutcome = (typeof RELOAD_OUTCOMES)[number];

/** `direction` values of `m2pool_pool_scale_events_total`. */
export const SCALE_DIRECTIONS = ['up', 'down'] as const;
/** One of {@link SCALE_DIRECTIONS}. */
export type ScaleDirection = (typeof SCALE_DIRECTIONS)[number];

/** `direction` values of `m2pool_autoscale_decisions_total` (`none`: the autoscaler held the size). */
export const AUTOSCALE_DIRECTIONS = ['up', 'down', 'none'] as const;
/** One of {@link AUTOSCALE_DIRECTIONS}. */
export type AutoscaleDirection = (typeof AUTOSCALE_DIRECTIONS)[number];

/** `reason` values of `m2pool_autoscale_decisions_total` (the autoscale policy's reasons, docs/runbook.md "Autoscaling"). */
export const AUTOSCALE_REASONS = [
  'utilization', 'queue-wait', 'within-tolerance', 'stabilizing', 'flap-penalty', 'reload', 'crash-loop', 'below-desired',
  'cpu-saturated', 'event-loop-idle', 'memory-cap', 'min', 'max',
] as const;
/** One of {@link AUTOSCALE_REASONS}. */
export type AutoscaleReasonLabel = (typeof AUTOSCALE_REASONS)[number];

/** The `{direction, reason}` pairs the autoscale policy can produce: the closed series set, each from 0. */
export const AUTOSCALE_DECISIONS: ReadonlyArray<readonly [AutoscaleDirection, AutoscaleReasonLabel]> = Object.freeze([
  ...(['utilization', 'queue-wait', 'memory-cap', 'min'] as const).map((r) => ['up', r] as const),
  ...(['utilization', 'queue-wait', 'max'] as const).map((r) => ['down', r] as const),
  ...(['within-tolerance', 'stabilizing', 'flap-penalty', 'reload', 'crash-loop', 'below-desired', 'cpu-saturated', 'event-loop-idle', 'memory-cap'] as const).map((r) => ['none', r] as const),
]);

/**
 * `reason` values of `m2pool_metrics_snapshots_rejected_total`:
 * `malformed` (not prom-client JSON), `schema` (type, labels or buckets disagree with {@link WORKER_METRICS}),
 * `too-large` (over the series cap), `stale` (arrived after its process was gone and cannot be reconciled).
 */
export const REJECT_REASONS = ['malformed', 'schema', 'too-large', 'stale'] as const;
/** One of {@link REJECT_REASONS}. */
export type RejectReason = (typeof REJECT_REASONS)[number];

/**
 * Request duration buckets in seconds: 1 ms (a cached answer behind Mongrel2) to 60 s (beyond any sane request
 * deadline). 15 finite buckets: enough resolution for p50/p90/p99 around typical web latencies.
 */
export const REQUEST_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
]);

/**
 * Prefix of Node's default process metrics (prom-client `collectDefaultMetrics`) for the supervisor process:
 * `m2pool_supervisor_process_cpu_seconds_total`, `m2pool_supervisor_nodejs_heap_size_used_bytes`, ...
 * NOTE: prefixed rather than the bare `process_*` names because the endpoint speaks for a pool of processes: a
 * bare `process_resident_memory_bytes` would read as the pool's memory, while it is the supervisor's alone.
 */
export const SUPERVISOR_DEFAULT_METRICS_PREFIX = 'm2pool_supervisor_';

/** How often workers push snapshots unless told otherwise: gauges (in flight) are at most this stale. */
export const DEFAULT_PUSH_INTERVAL_MS = 2_000;

/** Worker-side metrics: each worker owns them; the supervisor merges them (see {@link PoolMerge}). */
export const WORKER_METRICS = Object.freeze({
  requests: {
    name: 'm2pool_requests_total',
    help: 'Requests answered by the pool, by route pattern, method and status class.',
    kind: 'counter',
    labelNames: ['route', 'method', 'status_class'],
    merge: 'sum',
  },
  requestDuration: {
    name: 'm2pool_request_duration_seconds',
    help: 'Time from reading a request to its outcome, by route pattern and method.',
    kind: 'histogram',
    labelNames: ['route', 'method'],
    unit: 'seconds',
    buckets: REQUEST_DURATION_BUCKETS,
    merge: 'sum',
  },
  requestsInFlight: {
    name: 'm2pool_requests_in_flight',
    help: 'Requests read and not yet finished, per slot.',
    kind: 'gauge',
    labelNames: [],
    merge: 'slot-sum',
  },
  deadlineExpired: {
    name: 'm2pool_deadline_expired_total',
    help: 'Requests whose deadline expired (answered 504 by the worker).',
    kind: 'counter',
    labelNames: [],
    merge: 'sum',
  },
  disconnectNotices: {
    name: 'm2pool_disconnect_notices_total',
    help: 'Mongrel2 disconnect notices received (a client went away).',
    kind: 'counter',
    labelNames: [],
    merge: 'sum',
  },
  malformedMessages: {
    name: 'm2pool_malformed_messages_total',
    help: 'Messages from Mongrel2 that did not parse and were skipped.',
    kind: 'counter',
    labelNames: [],
    merge: 'sum',
  },
  uploadsRefused: {
    name: 'm2pool_uploads_refused_total',
    help: 'Async uploads refused (answered 400) because the message or file was not what Mongrel2 itself writes.',
    kind: 'counter',
    labelNames: [],
    merge: 'sum',
  },
  responseBytes: {
    name: 'm2pool_response_bytes_total',
    help: 'Response bytes handed to Mongrel2.',
    kind: 'counter',
    labelNames: [],
    unit: 'bytes',
    merge: 'sum',
  },
  replySendFailures: {
    name: 'm2pool_reply_send_failures_total',
    help: 'Replies the transport could not hand to Mongrel2 within the send timeout.',
    kind: 'counter',
    labelNames: [],
    merge: 'sum',
  },
  linkRefusals: {
    name: 'm2pool_link_refusals_total',
    help: "Messages over the size limit a worker's link refused (Mongrel2's, or the dispatcher's): ZeroMQ dropped the connection and the link reconnected.",
    kind: 'counter',
    labelNames: [],
    merge: 'sum',
  },
  pushMessages: {
    name: 'm2pool_push_messages_total',
    help: 'Mongrel2 messages this pool pushed with app.push (each to 1-128 connections).',
    kind: 'counter',
    labelNames: [],
    merge: 'sum',
  },
  pushFailures: {
    name: 'm2pool_push_failures_total',
    help: 'app.push messages that could not be handed over (unknown Mongrel2 UUID, link closed, send timeout).',
    kind: 'counter',
    labelNames: [],
    merge: 'sum',
  },
  mongrel2EndpointsConnected: {
    name: 'm2pool_mongrel2_endpoints_connected',
    help: 'Mongrel2 servers a worker of the slot is connected to (max over the live processes of the slot).',
    kind: 'gauge',
    labelNames: [],
    merge: 'slot-max',
  },
} as const satisfies Record<string, WorkerMetricSpec>);

/** Supervisor-side metrics: owned and rendered by the supervisor. */
export const SUPERVISOR_METRICS = Object.freeze({
  workers: {
    name: 'm2pool_workers',
    help: 'Live worker processes by lifecycle state.',
    kind: 'gauge',
    labelNames: ['state'],
  },
  workersDesired: {
    name: 'm2pool_workers_desired',
    help: 'Number of workers the pool is asked to run.',
    kind: 'gauge',
    labelNames: [],
  },
  workersMinReady: {
    name: 'm2pool_workers_min_ready',
    help: 'Ready workers needed for /readyz to succeed (config minReady).',
    kind: 'gauge',
    labelNames: [],
  },
  workerRestarts: {
    name: 'm2pool_worker_restarts_total',
    help: 'Worker processes replaced, by slot and reason.',
    kind: 'counter',
    labelNames: ['slot', 'reason'],
  },
  heartbeatAge: {
    name: 'm2pool_worker_heartbeat_age_seconds',
    help: 'Time since the last heartbeat, per slot (max over its live processes); grows while an event loop is blocked.',
    kind: 'gauge',
    labelNames: ['slot'],
    unit: 'seconds',
  },
  eventLoopLag: {
    name: 'm2pool_worker_event_loop_lag_seconds',
    help: 'Event-loop lag reported by the last heartbeat, per slot (max over its live processes).',
    kind: 'gauge',
    labelNames: ['slot'],
    unit: 'seconds',
  },
  rss: {
    name: 'm2pool_worker_rss_bytes',
    help: 'Resident set size reported by the last heartbeat, per slot (sum over its live processes).',
    kind: 'gauge',
    labelNames: ['slot'],
    unit: 'bytes',
  },
  scaleEvents: {
    name: 'm2pool_pool_scale_events_total',
    help: 'Changes of the desired worker count, by direction.',
    kind: 'counter',
    labelNames: ['direction'],
  },
  reloads: {
    name: 'm2pool_pool_reloads_total',
    help: 'Rolling reloads asked for, by outcome: started, or refused (config-invalid, app-broken: the running workers keep serving).',
    kind: 'counter',
    labelNames: ['outcome'],
  },
  dispatcherRestarts: {
    name: 'm2pool_dispatcher_restarts_total',
    help: "Times the pool's own dispatcher died and was restarted, by exit reason.",
    kind: 'counter',
    labelNames: ['reason'],
  },
  slotCrashloop: {
    name: 'm2pool_slot_crashloop',
    help: '1 while the crash-loop breaker of the slot is open (the slot respawns only a probe worker every crashLoop.probeAfterMs), else 0.',
    kind: 'gauge',
    labelNames: ['slot'],
  },
  snapshotsRejected: {
    name: 'm2pool_metrics_snapshots_rejected_total',
    help: 'Worker metric snapshots ignored because they were invalid, by reason.',
    kind: 'counter',
    labelNames: ['reason'],
  },
  utilization: {
    name: 'm2pool_utilization_ratio',
    help: 'Requests in flight over the in-flight capacity of the ready workers (sum of in flight / sum of max in flight), from their last heartbeats.',
    kind: 'gauge',
    labelNames: [],
  },
  autoscaleDesired: {
    name: 'm2pool_autoscale_desired_workers',
    help: "The autoscaler's desired worker count after its last decision (0 while autoscaling is off).",
    kind: 'gauge',
    labelNames: [],
  },
  autoscaleDecisions: {
    name: 'm2pool_autoscale_decisions_total',
    help: 'Autoscaler decisions, one per interval, by direction (up, down, none) and reason.',
    kind: 'counter',
    labelNames: ['direction', 'reason'],
  },
  snapshotAge: {
    name: 'm2pool_worker_metrics_snapshot_age_seconds',
    help: 'Time since the last accepted metrics snapshot, per slot (max over its live processes).',
    kind: 'gauge',
    labelNames: ['slot'],
    unit: 'seconds',
  },
} as const satisfies Record<string, MetricSpec>);

/** The `name`, `help` and `labelNames` of a spec in the mutable shape prom-client's constructors take. */
export function promClientConfig(spec: MetricSpec): { name: string; help: string; labelNames: string[] } {
  return { name: spec.name, help: spec.help, labelNames: [...spec.labelNames] };
}

/** Worker specs by metric name (what the supervisor validates snapshots against). */
export const WORKER_METRICS_BY_NAME: ReadonlyMap<string, WorkerMetricSpec> = new Map(
  Object.values(WORKER_METRICS).map((s): [string, WorkerMetricSpec] => [s.name, s]),
);

/** Every metric spec by name (units for OpenMetrics, collision checks). */
export const ALL_METRICS_BY_NAME: ReadonlyMap<string, MetricSpec> = new Map(
  [...Object.values(WORKER_METRICS), ...Object.values(SUPERVISOR_METRICS)].map((s): [string, MetricSpec] => [s.name, s]),
);
