/**
 * The dispatcher's own numbers, kept as plain fields on the hot path (like `metrics/request-stats.ts`) and turned
 * into metric families only when a snapshot is taken: for the supervisor (`m2pool:metrics`, prom-client JSON) or
 * for the dispatcher's own `/metrics` when it runs standalone.
 * @module
 */
import type { ExpositionFamily } from '../metrics/exposition';

/**
 * Why the dispatcher answered a request itself: 503 + Retry-After (504 for `request-timeout`), or a close when the
 * reply had started or the request is a WebSocket frame or socket message. `queue-full`: it arrived with the queue
 * at `--queue-limit` (shed at once); `request-timeout`: its worker did not answer within `--request-timeout-ms`.
 */
export const FAILURE_REASONS = ['queue-timeout', 'queue-full', 'request-timeout', 'worker-lost', 'retry-budget', 'reply-cut', 'shutdown', 'reply-failed'] as const;
/** One of {@link FAILURE_REASONS}. */
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Queue wait buckets in seconds: from "handed over at once" to the default queue timeout. */
export const QUEUE_WAIT_BUCKETS: readonly number[] = Object.freeze([0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30]);

/** Metric names, help texts and label names (the naming style of `metrics/definitions.ts`). */
export const DISPATCHER_METRICS = Object.freeze({
  received: { name: 'm2pool_dispatcher_messages_received_total', help: 'Messages read from Mongrel2 (requests, frames, notices).', kind: 'counter' },
  dispatched: { name: 'm2pool_dispatcher_requests_dispatched_total', help: 'Requests handed to a worker, by worker slot (or "external").', kind: 'counter', label: 'worker' },
  queueDepth: { name: 'm2pool_dispatcher_queue_depth', help: 'Requests waiting for worker credit.', kind: 'gauge' },
  queueWait: { name: 'm2pool_queue_wait_seconds', help: 'Time from arrival at the dispatcher to being handed to a worker.', kind: 'histogram' },
  creditInUse: { name: 'm2pool_dispatcher_credit_in_use', help: 'Requests in flight at workers.', kind: 'gauge' },
  creditCapacity: { name: 'm2pool_dispatcher_credit_capacity', help: 'Total credit of the connected, non-leaving workers.', kind: 'gauge' },
  workers: { name: 'm2pool_dispatcher_workers', help: 'Workers registered with the dispatcher.', kind: 'gauge' },
  retries: { name: 'm2pool_dispatcher_retries_total', help: 'Requests of a lost worker handed to another worker.', kind: 'counter' },
  failures: { name: 'm2pool_dispatcher_failed_requests_total', help: 'Requests the dispatcher answered itself (503, or a close once the reply had started), by reason.', kind: 'counter', label: 'reason' },
  workersLost: { name: 'm2pool_dispatcher_workers_lost_total', help: 'Workers that disconnected or missed their heartbeat deadline while registered, by cause (left: it had asked to leave and held nothing, not a loss).', kind: 'counter', label: 'cause' },
  lateReplies: { name: 'm2pool_dispatcher_late_replies_total', help: 'Replies from workers for requests already answered, timed out or re-dispatched: dropped.', kind: 'counter' },
  misaddressedReplies: {
    name: 'm2pool_dispatcher_misaddressed_replies_total',
    help: 'Reply frames from a worker addressed to anything but the one connection of the request they answer: dropped, by worker slot (or "external").',
    kind: 'counter',
    label: 'worker',
  },
  creditClamped: { name: 'm2pool_dispatcher_credit_clamped_total', help: 'Worker registrations whose claimed capacity was cut to --max-worker-credit.', kind: 'counter' },
  notices: { name: 'm2pool_dispatcher_disconnect_notices_total', help: 'Mongrel2 disconnect notices, by what became of them.', kind: 'counter', label: 'outcome' },
  mongrel2Connected: { name: 'm2pool_dispatcher_mongrel2_servers_ready', help: 'Configured Mongrel2 servers connected and subscribed.', kind: 'gauge' },
  protocolErrors: { name: 'm2pool_dispatcher_protocol_errors_total', help: 'Malformed messages from workers or Mongrel2, skipped.', kind: 'counter' },
  recovery: { name: 'm2pool_dispatcher_crash_recovery_total', help: 'After a predecessor dispatcher crashed: replies handed over by workers and forwarded, requests held by workers, connections closed (swept, a holder lost, a cut reply), hand-over entries refused.', kind: 'counter', label: 'outcome' },
  batches: { name: 'm2pool_dispatcher_worker_batches_total', help: 'Batch messages exchanged with workers, by direction (requests per batch = dispatched / out).', kind: 'counter', label: 'direction' },
  // Pushes and rooms (issue #20, push-router.ts).
  pushOps: { name: 'm2pool_dispatcher_push_operations_total', help: 'Push and room operations received from workers, by operation.', kind: 'counter', label: 'op' },
  pushMessages: { name: 'm2pool_dispatcher_push_messages_total', help: 'Mongrel2 messages the dispatcher sent for pushes (each to 1-128 connections), by kind.', kind: 'counter', label: 'kind' },
  pushDeliveries: { name: 'm2pool_dispatcher_push_deliveries_total', help: 'Connections the push messages were addressed to (a broadcast to 1000 members counts 1000).', kind: 'counter' },
  pushRejected: { name: 'm2pool_dispatcher_push_rejected_total', help: 'Push operations dropped, by reason.', kind: 'counter', label: 'reason' },
  disconnectEvents: { name: 'm2pool_dispatcher_disconnect_events_total', help: 'Disconnect events for the app (a connection went away), by what became of them.', kind: 'counter', label: 'outcome' },
  rooms: { name: 'm2pool_dispatcher_rooms', help: 'Rooms with at least one member.', kind: 'gauge' },
  roomMembers: { name: 'm2pool_dispatcher_room_memberships', help: 'Room memberships (a connection in two rooms counts twice).', kind: 'gauge' },
} as const);

/** `op` values of `m2pool_dispatcher_push_operations_total`. */
export const PUSH_OPS = ['message', 'join', 'leave', 'broadcast', 'answer', 'members', 'watch', 'gone'] as const;
/** One of {@link PUSH_OPS}. */
export type PushOp = (typeof PUSH_OPS)[number];
/** `kind` values of `m2pool_dispatcher_push_messages_total`. */
export const PUSH_MESSAGE_KINDS = ['direct', 'websocket', 'sse', 'raw', 'poll', 'poll-timeout', 'heartbeat'] as const;
/** One of {@link PUSH_MESSAGE_KINDS}. */
export type PushMessageKind = (typeof PUSH_MESSAGE_KINDS)[number];
/** `reason` values of `m2pool_dispatcher_push_rejected_total`. */
export const PUSH_REJECT_REASONS = ['unknown-server', 'malformed', 'not-parked'] as const;
/** One of {@link PUSH_REJECT_REASONS}. */
export type PushRejectReason = (typeof PUSH_REJECT_REASONS)[number];
/** `outcome` values of `m2pool_dispatcher_disconnect_events_total`. */
export const DISCONNECT_EVENT_OUTCOMES = ['sent', 'duplicate', 'no-worker'] as const;
/** One of {@link DISCONNECT_EVENT_OUTCOMES}. */
export type DisconnectEventOutcome = (typeof DISCONNECT_EVENT_OUTCOMES)[number];
/** What a dispatcher did about requests of its crashed predecessor (docs/dispatch-protocol.md, "Dispatcher crash"). */
export type RecoveryOutcome = 'handed-over' | 'held' | 'swept' | 'holder-lost' | 'cut' | 'refused';

/** What became of a disconnect notice. */
export type NoticeOutcome = 'routed' | 'cancelled-queued' | 'unclaimed';

/** Mutable counters of one dispatcher process. */
export class DispatcherStats {
  received = 0;
  retries = 0;
  lateReplies = 0;
  creditClamped = 0;
  protocolErrors = 0;
  /** Batches (multipart messages) sent to and received from workers: entries per batch = the batching factor. */
  batchesOut = 0;
  batchesIn = 0;
  readonly dispatched = new Map<string, number>();
  readonly failures = new Map<FailureReason, number>();
  readonly workersLost = new Map<string, number>();
  readonly notices = new Map<NoticeOutcome, number>();
  readonly misaddressed = new Map<string, number>();
  readonly recovery = new Map<RecoveryOutcome, number>();
  /** Non-cumulative bucket counts; the last cell is above every bound. */
  readonly queueWaitBuckets = new Float64Array(QUEUE_WAIT_BUCKETS.length + 1);
  queueWaitSum = 0;
  queueWaitCount = 0;
  // Pushes and rooms: every closed-set series exists from 0.
  readonly pushOps = new Map<PushOp, number>(PUSH_OPS.map((op) => [op, 0]));
  readonly pushMessages = new Map<PushMessageKind, number>(PUSH_MESSAGE_KINDS.map((k) => [k, 0]));
  pushDeliveries = 0;
  readonly pushRejected = new Map<PushRejectReason, number>(PUSH_REJECT_REASONS.map((r) => [r, 0]));
  readonly disconnectEvents = new Map<DisconnectEventOutcome, number>(DISCONNECT_EVENT_OUTCOMES.map((o) => [o, 0]));

  /** Count one request handed to worker `label`, after waiting `seconds`. */
  dispatchedTo(label: string, seconds: number): void {
    this.dispatched.set(label, (this.dispatched.get(label) ?? 0) + 1);
    let i = 0;
    while (i < QUEUE_WAIT_BUCKETS.length && seconds > (QUEUE_WAIT_BUCKETS[i] ?? Infinity)) i++;
    this.queueWaitBuckets[i] = (this.queueWaitBuckets[i] ?? 0) + 1;
    this.queueWaitSum += seconds;
    this.queueWaitCount += 1;
  }

  failed(reason: FailureReason): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }

  notice(outcome: NoticeOutcome): void {
    this.notices.set(outcome, (this.notices.get(outcome) ?? 0) + 1);
  }

  /** Count one reply frame of worker `label` that did not go to its request's connection. */
  misaddressedReply(label: string): void {
    this.misaddressed.set(label, (this.misaddressed.get(label) ?? 0) + 1);
  }

  /** Count `n` outcomes of taking over from a crashed predecessor. */
  recovered(outcome: RecoveryOutcome, n = 1): void {
    this.recovery.set(outcome, (this.recovery.get(outcome) ?? 0) + n);
  }

  workerLost(cause: string): void {
    this.workersLost.set(cause, (this.workersLost.get(cause) ?? 0) + 1);
  }

  /** Sum of every failure reason. */
  get failedTotal(): number {
    let n = 0;
    for (const v of this.failures.values()) n += v;
    return n;
  }
}

/** Gauges read at snapshot time. */
export interface DispatcherGauges {
  readonly queueDepth: number;
  readonly creditInUse: number;
  readonly creditCapacity: number;
  readonly workers: number;
  readonly mongrel2Ready: number;
  readonly rooms?: number;
  readonly roomMemberships?: number;
}

type Sample = ExpositionFamily['samples'][number];

function labelled(name: string, label: string, map: ReadonlyMap<string, number>): Sample[] {
  return [...map].map(([value, n]) => ({ name, labels: [[label, value]], value: n }));
}

/** Every dispatcher metric as exposition families (the neutral model of `metrics/exposition.ts`). */
export function dispatcherFamilies(stats: DispatcherStats, gauges: DispatcherGauges): ExpositionFamily[] {
  const M = DISPATCHER_METRICS;
  const scalar = (spec: { name: string; help: string; kind: 'counter' | 'gauge' }, value: number): ExpositionFamily => ({
    name: spec.name, help: spec.help, type: spec.kind, samples: [{ name: spec.name, labels: [], value }],
  });
  const withLabel = (spec: { name: string; help: string; kind: 'counter'; label: string }, map: ReadonlyMap<string, number>): ExpositionFamily => ({
    name: spec.name, help: spec.help, type: spec.kind, samples: labelled(spec.name, spec.label, map),
  });
  let cumulative = 0;
  const buckets: Sample[] = QUEUE_WAIT_BUCKETS.map((le, i) => {
    cumulative += stats.queueWaitBuckets[i] ?? 0;
    return { name: `${M.queueWait.name}_bucket`, labels: [['le', String(le)]], value: cumulative };
  });
  buckets.push({ name: `${M.queueWait.name}_bucket`, labels: [['le', '+Inf']], value: stats.queueWaitCount });
  return [
    scalar(M.received, stats.received),
    withLabel(M.dispatched, stats.dispatched),
    scalar(M.queueDepth, gauges.queueDepth),
    {
      name: M.queueWait.name, help: M.queueWait.help, type: 'histogram', unit: 'seconds',
      samples: [...buckets, { name: `${M.queueWait.name}_sum`, labels: [], value: stats.queueWaitSum }, { name: `${M.queueWait.name}_count`, labels: [], value: stats.queueWaitCount }],
    },
    scalar(M.creditInUse, gauges.creditInUse),
    scalar(M.creditCapacity, gauges.creditCapacity),
    scalar(M.workers, gauges.workers),
    scalar(M.retries, stats.retries),
    withLabel(M.failures, stats.failures),
    withLabel(M.workersLost, stats.workersLost),
    scalar(M.lateReplies, stats.lateReplies),
    withLabel(M.misaddressedReplies, stats.misaddressed),
    scalar(M.creditClamped, stats.creditClamped),
    withLabel(M.notices, stats.notices),
    scalar(M.mongrel2Connected, gauges.mongrel2Ready),
    scalar(M.protocolErrors, stats.protocolErrors),
    withLabel(M.recovery, stats.recovery),
    withLabel(M.batches, new Map([['out', stats.batchesOut], ['in', stats.batchesIn]])),
    withLabel(M.pushOps, stats.pushOps),
    withLabel(M.pushMessages, stats.pushMessages),
    scalar(M.pushDeliveries, stats.pushDeliveries),
    withLabel(M.pushRejected, stats.pushRejected),
    withLabel(M.disconnectEvents, stats.disconnectEvents),
    scalar(M.rooms, gauges.rooms ?? 0),
    scalar(M.roomMembers, gauges.roomMemberships ?? 0),
  ];
}

/**
 * The same families in prom-client's `getMetricsAsJSON()` shape, which is what `m2pool:metrics` carries from a
 * worker to the supervisor (see `metrics/worker-metrics.ts`).
 */
export function dispatcherSnapshot(stats: DispatcherStats, gauges: DispatcherGauges): unknown[] {
  return dispatcherFamilies(stats, gauges).map((f) => ({
    name: f.name,
    help: f.help,
    type: f.type,
    aggregator: 'sum',
    values: f.samples.map((s) => ({
      value: s.value,
      labels: Object.fromEntries(s.labels.map(([k, v]) => [k, k === 'le' && v !== '+Inf' ? Number(v) : v])),
      ...(f.type === 'histogram' ? { metricName: s.name } : {}),
    })),
  }));
}
