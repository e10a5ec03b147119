/**
 * The dispatcher's own numbers, kept as plain fields on the hot path (like `metrics/request-stats.ts`) and turned
 * into metric families only when a snapshot is taken: for the supervisor (`m2pool:metrics`, prom-client JSON) or
 * for the dispatcher's own `/metrics` when it runs standalone.
 * @module
 */
import { DISPATCHER_METRICS, QUEUE_WAIT_BUCKETS } from '../metrics/dispatcher-definitions';
import type { ExpositionFamily } from '../metrics/exposition';

/**
 * Why the dispatcher answered a request itself: 503 + Retry-After (504 for `request-timeout`), or a close when the
 * reply had started or the request is a WebSocket frame or socket message. `queue-full`: it arrived with the queue
 * at `--queue-limit` (shed at once); `request-timeout`: its worker did not answer within `--request-timeout-ms`.
 */
export const FAILURE_REASONS = ['queue-timeout', 'queue-full', 'request-timeout', 'worker-lost', 'retry-budget', 'reply-cut', 'shutdown', 'reply-failed'] as const;
/** One of {@link FAILURE_REASONS}. */
export type FailureReason = (typeof FAILURE_REASONS)[number];

export { DISPATCHER_METRICS, QUEUE_WAIT_BUCKETS };

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
  readonly peersDropped = new Map<'workers' | 'mongrel2', number>();
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

  peerDropped(socket: 'workers' | 'mongrel2'): void {
    this.peersDropped.set(socket, (this.peersDropped.get(socket) ?? 0) + 1);
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
    withLabel(M.peersDropped, stats.peersDropped),
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
