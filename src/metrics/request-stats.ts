/**
 * The per-request hot path of a worker: `m2pool_requests_total` and `m2pool_request_duration_seconds` kept in
 * plain typed arrays, one cell per (route, method), and turned into prom-client JSON only when a snapshot is
 * taken. Measured on Node 20.20 (4 routes, 3M calls after warm-up): prom-client Counter + Histogram, with
 * cached `labels()` children or not, cost ~750-850 ns per request (they build a label-hash string and validate
 * labels on every call); this path costs ~45 ns, with no allocation per request.
 * `WorkerMetrics` puts the two families into its snapshots.
 * @module
 */
import { MAX_LABEL_VALUE_LENGTH, OVERFLOW_ROUTE, STATUS_CLASSES, WORKER_METRICS, type StatusClass } from './definitions';

const REQUESTS = WORKER_METRICS.requests;
const DURATION = WORKER_METRICS.requestDuration;
const BOUNDS: readonly number[] = DURATION.buckets;
const STATUS_INDEX: Readonly<Record<StatusClass, number>> = Object.freeze(
  Object.fromEntries(STATUS_CLASSES.map((c, i) => [c, i])) as Record<StatusClass, number>,
);

interface Cell {
  readonly route: string;
  readonly method: string;
  /** Requests per status class, indexed like {@link STATUS_CLASSES}. */
  readonly byClass: Float64Array;
  /** Observations per bucket, not cumulative; the last slot is above every bound (+Inf only). */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** One prom-client JSON sample. */
interface JsonValue {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

/** Request counts and durations per (route, method). */
export class RequestStats {
  readonly #cells = new Map<string, Map<string, Cell>>();
  #cellCount = 0;
  readonly #maxCells: number;

  /** @param maxCells distinct (route, method) pairs before new routes are folded into `(overflow)`. */
  constructor(maxCells: number) {
    this.#maxCells = maxCells;
  }

  /** Count one request. `method` must already be a `method` label value. */
  observe(route: string, method: string, statusClass: StatusClass, seconds: number): void {
    const cell = this.#cell(route, method);
    const k = STATUS_INDEX[statusClass];
    cell.byClass[k] = (cell.byClass[k] ?? 0) + 1;
    let i = 0;
    while (i < BOUNDS.length && seconds > (BOUNDS[i] ?? Infinity)) i++;
    cell.buckets[i] = (cell.buckets[i] ?? 0) + 1;
    cell.sum += seconds;
    cell.count += 1;
  }

  /** `m2pool_requests_total` and `m2pool_request_duration_seconds` as prom-client JSON. */
  families(): [object, object] {
    return [this.#family(REQUESTS, this.#requestValues()), this.#family(DURATION, this.#durationValues())];
  }

  /** Forget every count. */
  reset(): void {
    this.#cells.clear();
    this.#cellCount = 0;
  }

  #family(spec: { readonly name: string; readonly help: string; readonly kind: string }, values: JsonValue[]): object {
    return { name: spec.name, help: spec.help, type: spec.kind, values, aggregator: 'sum' };
  }

  #requestValues(): JsonValue[] {
    const out: JsonValue[] = [];
    for (const byMethod of this.#cells.values()) {
      for (const c of byMethod.values()) {
        STATUS_CLASSES.forEach((sc, i) => {
          const n = c.byClass[i] ?? 0;
          if (n > 0) out.push({ value: n, labels: { route: c.route, method: c.method, status_class: sc } });
        });
      }
    }
    return out;
  }

  #durationValues(): JsonValue[] {
    const out: JsonValue[] = [];
    const bucket = `${DURATION.name}_bucket`;
    for (const byMethod of this.#cells.values()) {
      for (const c of byMethod.values()) {
        let cumulative = 0;
        BOUNDS.forEach((le, i) => {
          cumulative += c.buckets[i] ?? 0;
          out.push({ value: cumulative, labels: { route: c.route, method: c.method, le }, metricName: bucket });
        });
        out.push({ value: c.count, labels: { route: c.route, method: c.method, le: '+Inf' }, metricName: bucket });
        out.push({ value: c.sum, labels: { route: c.route, method: c.method }, metricName: `${DURATION.name}_sum` });
        out.push({ value: c.count, labels: { route: c.route, method: c.method }, metricName: `${DURATION.name}_count` });
      }
    }
    return out;
  }

  #cell(route: string, method: string): Cell {
    const cell = this.#cells.get(route)?.get(method);
    if (cell !== undefined) return cell;
    if (route !== OVERFLOW_ROUTE && (this.#cellCount >= this.#maxCells || route.length > MAX_LABEL_VALUE_LENGTH)) {
      return this.#cell(OVERFLOW_ROUTE, method);
    }
    let byMethod = this.#cells.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.#cells.set(route, byMethod);
    }
    const created: Cell = {
      route,
      method,
      byClass: new Float64Array(STATUS_CLASSES.length),
      buckets: new Float64Array(BOUNDS.length + 1),
      sum: 0,
      count: 0,
    };
    byMethod.set(method, created);
    this.#cellCount += 1;
    return created;
  }
}
