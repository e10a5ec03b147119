/**
 * The supervisor's metrics: it merges the snapshots workers push (counters and histograms pool-wide and
 * monotonic across exits, gauges per slot), owns the supervisor-side metrics and Node's default process metrics,
 * and renders `/metrics` from memory. Nothing here talks to a worker: callers feed it facts.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import {
  AUTOSCALE_DECISIONS,
  REJECT_REASONS,
  RELOAD_OUTCOMES,
  RESTART_REASONS,
  SCALE_DIRECTIONS,
  SUPERVISOR_DEFAULT_METRICS_PREFIX,
  SUPERVISOR_METRICS,
  WORKER_METRICS_BY_NAME,
  WORKER_STATES,
  promClientConfig as meta,
  type MetricSpec,
  type AutoscaleDirection,
  type AutoscaleReasonLabel,
  type RejectReason,
  type ReloadOutcome,
  type RestartReason,
  type ScaleDirection,
  type WorkerStateLabel,
} from './definitions';
import { writeExposition, type ExpositionFamily, type ExpositionFormat } from './exposition';
import { serveMetrics } from './http';
import { familiesFromRegistryJson } from './registry-families';
import { DEFAULT_PARSE_LIMITS, parseSnapshot, type ParseLimits } from './snapshot';
import { SnapshotLedger, type LedgerOptions } from './snapshot-ledger';
import { DISPATCHER_SPECS, dispatcherPoolFamilies } from './dispatcher-families';
import { workerFamilies, type LiveSnapshot } from './worker-families';

/** Identity of one worker process. A supervisor `WorkerHandle` satisfies it structurally. */
export interface WorkerRef {
  readonly slot: number;
  readonly generation: number;
  /** null when the spawn failed before a pid existed. */
  readonly pid: number | null;
}

/** The numbers of one `m2pool:heartbeat`. */
export interface HeartbeatSample {
  readonly loopLagMs: number;
  readonly rssBytes: number;
  /** Requests in flight and the worker's in-flight cap (`m2pool_utilization_ratio`); a cap of null is not counted. */
  readonly inFlight?: number;
  readonly maxInFlight?: number | null;
  /** When the supervisor received it, on the `now` clock. @default now() */
  readonly at?: number;
}

/** What {@link PoolMetrics} logs through (a pino logger fits). */
export interface MetricsLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** Options of {@link PoolMetrics}. */
export interface PoolMetricsOptions {
  /** Milliseconds clock for ages; pass the supervisor's `clock.now`. @default Date.now */
  readonly now?: () => number;
  /** @default no logging */
  readonly logger?: MetricsLogger;
  /** Export Node's default process metrics of the supervisor, prefixed `m2pool_supervisor_`. @default true */
  readonly defaultMetrics?: boolean;
  /** Snapshot validation caps. @default {@link DEFAULT_PARSE_LIMITS} */
  readonly limits?: Partial<ParseLimits>;
  /** Memory bounds for gone processes. */
  readonly ledger?: LedgerOptions;
}

/** What {@link PoolMetrics.ingest} did. */
export type IngestResult = 'accepted' | 'late' | 'rejected';

interface ProcessRecord {
  readonly slot: number;
  state: WorkerStateLabel | undefined;
  heartbeat: { readonly loopLagMs: number; readonly rssBytes: number; readonly at: number; readonly inFlight: number; readonly maxInFlight: number | null } | undefined;
  /** When it became ready: its heartbeat age counts from here until the first heartbeat (as the supervisor's). */
  readyAt: number | undefined;
  snapshotAt: number | undefined;
}

/** Key of a process in every map: slot, generation and pid (per process instance; never a label). */
export function processKey(ref: WorkerRef): string {
  return `${ref.slot}/${ref.generation}/${ref.pid ?? '-'}`;
}

function validSlot(slot: number): boolean {
  return Number.isSafeInteger(slot) && slot >= 0;
}

/** Gauges dropped from Node's default metrics: gauges named `*_total`, which `promtool check metrics` rejects. */
const DROPPED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Pool-wide metrics, owned by the supervisor. */
export class PoolMetrics {
  /** The supervisor's registry: supervisor-side metrics and default process metrics; register extra ones here. */
  readonly registry = new Registry();
  readonly #now: () => number;
  readonly #logger: MetricsLogger | undefined;
  readonly #limits: ParseLimits;
  readonly #ledger: SnapshotLedger;
  /** The pool dispatcher's snapshots, one key per dispatcher process (restarts never lower its counters). */
  readonly #dispatchers: SnapshotLedger;
  #liveDispatcher: string | undefined;
  readonly #procs = new Map<string, ProcessRecord>();
  readonly #warned = new Set<string>();
  readonly #desired: Gauge<string>;
  readonly #minReady: Gauge<string>;
  readonly #restarts: Counter<string>;
  /** Slots whose restart series exist (at 0 until the first restart, so `increase()` sees that one too). */
  readonly #restartSlots = new Set<number>();
  readonly #scale: Counter<string>;
  readonly #reloads: Counter<string>;
  readonly #crashloop: Gauge<string>;
  /** Slots with a `m2pool_slot_crashloop` series. */
  readonly #crashloopSlots = new Set<number>();
  readonly #rejected: Counter<string>;
  readonly #dispatcherRestarts: Counter<string>;
  readonly #autoscaleDesired: Gauge<string>;
  readonly #autoscaleDecisions: Counter<string>;

  constructor(options: PoolMetricsOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#limits = { ...DEFAULT_PARSE_LIMITS, ...options.limits };
    this.#ledger = new SnapshotLedger(options.ledger);
    this.#dispatchers = new SnapshotLedger(options.ledger);
    const registers = [this.registry];
    const S = SUPERVISOR_METRICS;
    const procs = this.#procs;
    const now = (): number => this.#now();
    new Gauge({
      ...meta(S.workers),
      registers,
      collect() {
        const counts = new Map<string, number>(WORKER_STATES.map((s) => [s, 0]));
        for (const p of procs.values()) {
          // Only the closed set: a state outside it (a caller bug) must not mint a new series.
          const n = p.state === undefined ? undefined : counts.get(p.state);
          if (p.state !== undefined && n !== undefined) counts.set(p.state, n + 1);
        }
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    this.#desired = new Gauge({ ...meta(S.workersDesired), registers });
    this.#minReady = new Gauge({ ...meta(S.workersMinReady), registers });
    this.#restarts = new Counter({ ...meta(S.workerRestarts), registers });
    perSlotGauge(S.heartbeatAge, registers, procs, 'max', (p) => {
      // NOTE: a worker blocked before its first heartbeat must show a growing age too, not no series at all.
      const at = p.heartbeat?.at ?? p.readyAt;
      return at === undefined ? undefined : Math.max(0, now() - at) / 1000;
    });
    perSlotGauge(S.eventLoopLag, registers, procs, 'max', (p) => (p.heartbeat === undefined ? undefined : p.heartbeat.loopLagMs / 1000));
    perSlotGauge(S.rss, registers, procs, 'sum', (p) => p.heartbeat?.rssBytes);
    this.#scale = new Counter({ ...meta(S.scaleEvents), registers });
    this.#reloads = new Counter({ ...meta(S.reloads), registers });
    this.#crashloop = new Gauge({ ...meta(S.slotCrashloop), registers });
    this.#rejected = new Counter({ ...meta(S.snapshotsRejected), registers });
    this.#dispatcherRestarts = new Counter({ ...meta(S.dispatcherRestarts), registers });
    new Gauge({
      ...meta(S.utilization),
      registers,
      collect() {
        let inFlight = 0;
        let capacity = 0;
        for (const p of procs.values()) {
          const hb = p.heartbeat;
          if (p.state !== 'ready' || hb === undefined || hb.maxInFlight === null) continue;
          inFlight += hb.inFlight;
          capacity += hb.maxInFlight;
        }
        this.set(capacity > 0 ? inFlight / capacity : 0);
      },
    });
    this.#autoscaleDesired = new Gauge({ ...meta(S.autoscaleDesired), registers });
    this.#autoscaleDecisions = new Counter({ ...meta(S.autoscaleDecisions), registers });
    perSlotGauge(S.snapshotAge, registers, procs, 'max', (p) => (p.snapshotAt === undefined ? undefined : Math.max(0, now() - p.snapshotAt) / 1000));
    // Closed label sets start at 0, so increase() sees the first event.
    for (const direction of SCALE_DIRECTIONS) this.#scale.inc({ direction }, 0);
    for (const outcome of RELOAD_OUTCOMES) this.#reloads.inc({ outcome }, 0);
    for (const reason of REJECT_REASONS) this.#rejected.inc({ reason }, 0);
    for (const [direction, reason] of AUTOSCALE_DECISIONS) this.#autoscaleDecisions.inc({ direction, reason }, 0);
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: SUPERVISOR_DEFAULT_METRICS_PREFIX });
      for (const name of DROPPED_DEFAULT_METRICS) this.registry.removeSingleMetric(SUPERVISOR_DEFAULT_METRICS_PREFIX + name);
    }
  }

  /** Lifecycle state of a worker process; null when it left the booting/ready/draining states (exited). */
  setWorkerState(ref: WorkerRef, state: WorkerStateLabel | null): void {
    const rec = this.#record(ref);
    if (rec === undefined) return;
    this.#initRestarts(ref.slot);
    rec.state = state ?? undefined;
    if (state === 'ready') rec.readyAt ??= this.#now();
  }

  /** The desired worker count. */
  setDesired(n: number): void {
    if (Number.isFinite(n)) this.#desired.set(n);
  }

  /** Ready workers needed for `/readyz` (config `minReady`); alerts compare `m2pool_workers{state="ready"}` to it. */
  setMinReady(n: number): void {
    if (Number.isFinite(n)) this.#minReady.set(n);
  }

  /** A slot got a new process because its previous one ended for `reason`. */
  recordRestart(slot: number, reason: RestartReason): void {
    if (!validSlot(slot) || !(RESTART_REASONS as readonly string[]).includes(reason)) {
      this.#logger?.warn({ event: 'metrics.bad-restart', slot, reason }, 'restart not counted: slot or reason outside the closed set');
      return;
    }
    this.#initRestarts(slot);
    this.#restarts.inc({ slot: String(slot), reason });
  }

  /**
   * Create every `reason` series of a slot at 0 when the slot is first seen: a counter series that appears at 1
   * is invisible to `increase()`/`rate()`, so the alert on restarts would miss a slot's first one.
   */
  #initRestarts(slot: number): void {
    if (this.#restartSlots.has(slot)) return;
    this.#restartSlots.add(slot);
    for (const reason of RESTART_REASONS) this.#restarts.inc({ slot: String(slot), reason }, 0);
  }

  /** One heartbeat of a worker process. */
  recordHeartbeat(ref: WorkerRef, hb: HeartbeatSample): void {
    const rec = this.#record(ref);
    if (rec === undefined || !Number.isFinite(hb.loopLagMs) || !Number.isFinite(hb.rssBytes)) return;
    const cap = hb.maxInFlight;
    const maxInFlight = typeof cap === 'number' && Number.isFinite(cap) && cap > 0 ? cap : null;
    const inFlight = typeof hb.inFlight === 'number' && Number.isFinite(hb.inFlight) && hb.inFlight >= 0 ? hb.inFlight : 0;
    rec.heartbeat = { loopLagMs: hb.loopLagMs, rssBytes: hb.rssBytes, at: hb.at ?? this.#now(), inFlight, maxInFlight };
  }

  /** One autoscaler decision (`desired`: the count after it); a pair outside the closed set is not counted. */
  recordAutoscale(direction: AutoscaleDirection, reason: AutoscaleReasonLabel, desired: number): void {
    if (!AUTOSCALE_DECISIONS.some(([d, r]) => d === direction && r === reason)) return;
    this.#autoscaleDecisions.inc({ direction, reason });
    if (Number.isFinite(desired)) this.#autoscaleDesired.set(desired);
  }

  /** The desired count changed (scale command, signal, autoscaler). */
  recordScale(direction: ScaleDirection): void {
    if ((SCALE_DIRECTIONS as readonly string[]).includes(direction)) this.#scale.inc({ direction });
  }

  /** One reload asked for: started, or refused and why. */
  recordReload(outcome: ReloadOutcome): void {
    if ((RELOAD_OUTCOMES as readonly string[]).includes(outcome)) this.#reloads.inc({ outcome });
  }

  /** Crash-loop breaker of `slot` opened (true) or closed (false). */
  setCrashloop(slot: number, open: boolean): void {
    if (!validSlot(slot)) return;
    this.#crashloop.set({ slot: String(slot) }, open ? 1 : 0);
    this.#crashloopSlots.add(slot);
  }

  /**
   * `slot` got a worker process: its crash-loop series exists from now on (0 unless the breaker opened), so a
   * healthy pool shows "0 per slot" rather than no data. A slot only spawns while its breaker is closed.
   */
  slotInUse(slot: number): void {
    if (validSlot(slot) && !this.#crashloopSlots.has(slot)) this.setCrashloop(slot, false);
  }

  /** The slot no longer exists (scaled away): drop its crash-loop series. Counters keep their history. */
  forgetSlot(slot: number): void {
    if (!validSlot(slot)) return;
    this.#crashloop.remove({ slot: String(slot) });
    this.#crashloopSlots.delete(slot);
  }

  /**
   * A `m2pool:metrics` payload from a worker process. Untrusted: validated against the worker metric
   * definitions; an invalid one is counted in `m2pool_metrics_snapshots_rejected_total`, logged, and ignored.
   */
  ingest(ref: WorkerRef, metrics: unknown): IngestResult {
    const key = processKey(ref);
    try {
      const parsed = parseSnapshot(metrics, WORKER_METRICS_BY_NAME, this.#limits);
      if (!parsed.ok) return this.#reject(key, parsed.reason, parsed.detail);
      for (const name of parsed.unknownFamilies) this.#warnOnce(`family:${name}`, { event: 'metrics.unknown-family', family: name }, 'worker metric family unknown to the supervisor ignored');
      const verdict = this.#ledger.ingest(key, parsed.snapshot);
      if (verdict === 'stale') return this.#reject(key, 'stale', 'snapshot of a gone process');
      if (verdict === 'late') return 'late';
      const rec = this.#record(ref);
      if (rec !== undefined) rec.snapshotAt = this.#now();
      return 'accepted';
    } catch (err) {
      // NOTE: unreachable by design (the parser catches its own errors); kept so bad input can never crash us.
      return this.#reject(key, 'malformed', `unexpected: ${String(err)}`);
    }
  }

  /**
   * A `m2pool:metrics` payload of the pool's dispatcher: validated against its own families and kept in its own
   * ledger (an invalid one is counted as rejected, like a worker's).
   */
  ingestDispatcher(ref: WorkerRef, metrics: unknown): IngestResult {
    const key = `dispatcher/${processKey(ref)}`;
    const parsed = parseSnapshot(metrics, DISPATCHER_SPECS, this.#limits);
    if (!parsed.ok) return this.#reject(key, parsed.reason, parsed.detail);
    const verdict = this.#dispatchers.ingest(key, parsed.snapshot);
    if (verdict === 'stale') return this.#reject(key, 'stale', 'snapshot of a gone dispatcher');
    if (verdict === 'late') return 'late';
    this.#liveDispatcher = key;
    return 'accepted';
  }

  /** The pool's dispatcher died and is restarted (`reason`: crash, signal, heartbeat-timeout, …). */
  recordDispatcherRestart(reason: string): void {
    const known = ['crash', 'signal', 'exited', 'boot-timeout', 'heartbeat-timeout', 'spawn-error'];
    this.#dispatcherRestarts.inc({ reason: known.includes(reason) ? reason : 'other' });
  }

  /** The dispatcher process exited: its counts stay in the totals, its gauges go. */
  dispatcherGone(ref: WorkerRef): void {
    const key = `dispatcher/${processKey(ref)}`;
    this.#dispatchers.gone(key);
    if (this.#liveDispatcher === key) this.#liveDispatcher = undefined;
  }

  /**
   * The process exited (call once its IPC channel closed too, or on `exit` — a snapshot arriving later is
   * still reconciled). Its counters and histograms stay in the pool totals; its gauges disappear.
   */
  processGone(ref: WorkerRef): void {
    const key = processKey(ref);
    this.#ledger.gone(key);
    this.#procs.delete(key);
  }

  /** Every family: merged worker metrics, then the supervisor registry. Reads memory only. */
  async families(): Promise<ExpositionFamily[]> {
    const live: LiveSnapshot[] = [];
    for (const [key, rec] of this.#procs) {
      const snapshot = this.#ledger.live(key);
      if (snapshot !== undefined) live.push({ slot: rec.slot, snapshot });
    }
    const live1 = this.#liveDispatcher === undefined ? undefined : this.#dispatchers.live(this.#liveDispatcher);
    const dispatcher = this.#dispatchers.stats.live + this.#dispatchers.stats.rememberedGone === 0 ? [] : dispatcherPoolFamilies(this.#dispatchers.totals(), live1);
    const workers = [...workerFamilies(this.#ledger.totals(), live), ...dispatcher];
    const own = familiesFromRegistryJson(await this.registry.getMetricsAsJSON());
    const taken = new Set(workers.map((f) => f.name));
    return [...workers, ...own.filter((f) => !taken.has(f.name))];
  }

  /** The exposition in `format`. @default 'prometheus' (text 0.0.4) */
  async render(format: ExpositionFormat = 'prometheus'): Promise<string> {
    return writeExposition(await this.families(), format);
  }

  /** node:http handler for `GET /metrics` (the admin server mounts it); negotiates OpenMetrics via `Accept`. */
  readonly handleMetricsRequest = (req: IncomingMessage, res: ServerResponse): void => {
    serveMetrics(this, req, res, (err) => this.#logger?.warn({ event: 'metrics.render-failed', err }, 'metrics render failed'));
  };

  /** Sizes of the internal maps (tests, diagnostics). */
  get stats(): { readonly processes: number; readonly live: number; readonly rememberedGone: number; readonly keptFinalSnapshots: number } {
    return { processes: this.#procs.size, ...this.#ledger.stats };
  }

  #record(ref: WorkerRef): ProcessRecord | undefined {
    const key = processKey(ref);
    let rec = this.#procs.get(key);
    if (rec !== undefined) return rec;
    // A message racing the exit must not resurrect a gone process (its record would never be removed).
    if (!validSlot(ref.slot) || this.#ledger.isGone(key)) return undefined;
    rec = { slot: ref.slot, state: undefined, heartbeat: undefined, readyAt: undefined, snapshotAt: undefined };
    this.#procs.set(key, rec);
    return rec;
  }

  #reject(key: string, reason: RejectReason, detail: string): 'rejected' {
    this.#rejected.inc({ reason });
    this.#warnOnce(`process:${key}:${reason}`, { event: 'metrics.snapshot-rejected', process: key, reason, detail }, 'worker metrics snapshot rejected');
    return 'rejected';
  }

  /** Warn the first time per key, then debug: a broken worker pushing every 2 s must not flood the log. */
  #warnOnce(key: string, obj: object, msg: string): void {
    if (this.#warned.has(key)) {
      this.#logger?.debug(obj, msg);
      return;
    }
    if (this.#warned.size >= 1024) this.#warned.clear();
    this.#warned.add(key);
    this.#logger?.warn(obj, msg);
  }
}

/** A gauge computed at scrape time from the live process records, one series per slot. */
function perSlotGauge(
  spec: MetricSpec,
  registers: Registry[],
  procs: ReadonlyMap<string, ProcessRecord>,
  merge: 'sum' | 'max',
  valueOf: (p: ProcessRecord) => number | undefined,
): void {
  new Gauge({
    ...meta(spec),
    registers,
    collect() {
      const bySlot = new Map<number, number>();
      for (const p of procs.values()) {
        const v = valueOf(p);
        if (v === undefined) continue;
        const cur = bySlot.get(p.slot);
        bySlot.set(p.slot, cur === undefined ? v : merge === 'max' ? Math.max(cur, v) : cur + v);
      }
      this.reset();
      for (const slot of [...bySlot.keys()].sort((a, b) => a - b)) this.set({ slot: String(slot) }, bySlot.get(slot) ?? 0);
    },
  });
}
