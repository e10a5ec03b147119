/**
 * Pool-wide Prometheus metrics: definitions, the worker-side recorder, the supervisor-side merger and `/metrics`.
 * Re-exports only.
 * @module
 */
export * from './definitions';
export { methodLabel, statusClassOf, type RequestOutcome } from './labels';
export { WorkerMetrics, type MetricsMessage, type MetricsSend, type RequestObservation, type WorkerMetricsOptions } from './worker-metrics';
export {
  PoolMetrics,
  processKey,
  type HeartbeatSample,
  type IngestResult,
  type MetricsLogger,
  type PoolMetricsOptions,
  type WorkerRef,
} from './pool-metrics';
export { CONTENT_TYPES, negotiateFormat, writeExposition, type ExpositionFamily, type ExpositionFormat } from './exposition';
export { serveMetrics, type MetricsSource } from './http';
export { DEFAULT_PARSE_LIMITS, parseSnapshot, type ParseLimits, type ParseResult, type Snapshot } from './snapshot';
export { SnapshotLedger, type IngestVerdict, type LedgerOptions } from './snapshot-ledger';
