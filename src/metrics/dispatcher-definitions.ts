/**
 * The dispatcher's metric names, help texts, label names and queue-wait buckets: definitions only, in `metrics/`
 * (a leaf) so that both `dispatch/stats.ts` (which counts) and `metrics/dispatcher-families.ts` (which merges the
 * dispatcher's snapshot into the pool's) import them from below.
 * @module
 */

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
  peersDropped: { name: 'm2pool_dispatcher_peer_connections_dropped_total', help: 'Connections ended on a peer-facing socket without a goodbye, by socket: workers (a peer that never registered: a message over --max-message-bytes is refused this way) and mongrel2 (Mongrel2 sent a message over --max-request-bytes: reconnected). A registered worker counts in workers_lost.', kind: 'counter', label: 'socket' },
  recovery: { name: 'm2pool_dispatcher_crash_recovery_total', help: 'After a predecessor dispatcher crashed: replies handed over by workers and forwarded, requests held by workers, connections closed (swept, a holder lost, a cut reply), hand-over entries refused.', kind: 'counter', label: 'outcome' },
  batches: { name: 'm2pool_dispatcher_worker_batches_total', help: 'Batch messages exchanged with workers, by direction (requests per batch = dispatched / out).', kind: 'counter', label: 'direction' },
  // Pushes and rooms (dispatch/push-router.ts).
  pushOps: { name: 'm2pool_dispatcher_push_operations_total', help: 'Push and room operations received from workers, by operation.', kind: 'counter', label: 'op' },
  pushMessages: { name: 'm2pool_dispatcher_push_messages_total', help: 'Mongrel2 messages the dispatcher sent for pushes (each to 1-128 connections), by kind.', kind: 'counter', label: 'kind' },
  pushDeliveries: { name: 'm2pool_dispatcher_push_deliveries_total', help: 'Connections the push messages were addressed to (a broadcast to 1000 members counts 1000).', kind: 'counter' },
  pushRejected: { name: 'm2pool_dispatcher_push_rejected_total', help: 'Push operations dropped, by reason.', kind: 'counter', label: 'reason' },
  disconnectEvents: { name: 'm2pool_dispatcher_disconnect_events_total', help: 'Disconnect events for the app (a connection went away), by what became of them.', kind: 'counter', label: 'outcome' },
  rooms: { name: 'm2pool_dispatcher_rooms', help: 'Rooms with at least one member.', kind: 'gauge' },
  roomMembers: { name: 'm2pool_dispatcher_room_memberships', help: 'Room memberships (a connection in two rooms counts twice).', kind: 'gauge' },
} as const);
