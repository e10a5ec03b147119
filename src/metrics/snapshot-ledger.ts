/**
 * The supervisor's book of worker snapshots: the last snapshot of every live worker process, plus one "retired"
 * total holding the final counters and histograms of every process that is gone. Pool totals are
 * `retired + Σ live`, so they never go backwards when a worker exits, crashes or restarts (architecture.md
 * invariant 4; prom-client's cluster aggregation drops a dead worker's counts), and memory stays bounded
 * under churn: a gone process costs one folded-in delta, not an entry.
 * @module
 */
import type { Snapshot } from './snapshot';
import { addDeltaInto, addInto, cloneCumulative, dominates, raiseTo } from './snapshot-math';

/** What {@link SnapshotLedger.ingest} did with a snapshot. */
export type IngestVerdict =
  /** Stored as the process's latest snapshot. */
  | 'live'
  /** The process was already gone; what it added since its final known snapshot went into the retired total. */
  | 'late'
  /** The process is gone and this snapshot cannot be reconciled (its baseline was dropped, or it went backwards). */
  | 'stale';

/** Bounds of the ledger's memory of gone processes. */
export interface LedgerOptions {
  /** Gone processes whose final snapshot is kept, to reconcile a snapshot that arrives after `gone()`. @default 16 */
  readonly keptFinalSnapshots?: number;
  /** Gone process keys remembered, so a very late snapshot is refused instead of resurrecting the process. @default 4096 */
  readonly rememberedGone?: number;
}

/** Per-process snapshots plus the retired total; keys are opaque process identities. */
export class SnapshotLedger {
  readonly #live = new Map<string, Snapshot>();
  readonly #retired: Snapshot = new Map();
  /** Gone keys, oldest first; the value is the final snapshot, or null once it is no longer kept. */
  readonly #gone = new Map<string, Snapshot | null>();
  /** Gone keys whose final snapshot is kept, oldest first. */
  readonly #kept: string[] = [];
  #lastTotals: Snapshot = new Map();
  readonly #keepFinal: number;
  readonly #rememberGone: number;

  constructor(options: LedgerOptions = {}) {
    this.#keepFinal = Math.max(0, options.keptFinalSnapshots ?? 16);
    this.#rememberGone = Math.max(this.#keepFinal, options.rememberedGone ?? 4096);
  }

  /**
   * Record the latest snapshot of process `key`. A snapshot that went backwards (the process reset its registry)
   * first retires the previous one, so nothing already counted is lost.
   */
  ingest(key: string, snapshot: Snapshot): IngestVerdict {
    if (this.#gone.has(key)) {
      const final = this.#gone.get(key);
      if (final === null || final === undefined || !dominates(snapshot, final)) return 'stale';
      addDeltaInto(this.#retired, snapshot, final);
      this.#gone.set(key, cloneCumulative(snapshot));
      return 'late';
    }
    const prev = this.#live.get(key);
    if (prev !== undefined && !dominates(snapshot, prev)) addInto(this.#retired, prev);
    this.#live.set(key, snapshot);
    return 'live';
  }

  /** Process `key` is gone: fold its last counters and histograms into the retired total. Idempotent. */
  gone(key: string): void {
    if (this.#gone.has(key)) return;
    const last = this.#live.get(key);
    this.#live.delete(key);
    if (last !== undefined) addInto(this.#retired, last);
    this.#gone.set(key, last === undefined ? new Map() : cloneCumulative(last));
    this.#kept.push(key);
    while (this.#kept.length > this.#keepFinal) {
      const old = this.#kept.shift();
      if (old !== undefined && this.#gone.has(old)) this.#gone.set(old, null);
    }
    for (const old of this.#gone.keys()) {
      if (this.#gone.size <= this.#rememberGone) break;
      this.#gone.delete(old);
    }
  }

  /** True once `gone(key)` was called (and the key is still remembered). */
  isGone(key: string): boolean {
    return this.#gone.has(key);
  }

  /** The latest snapshot of a live process (its gauges are read from here). */
  live(key: string): Snapshot | undefined {
    return this.#live.get(key);
  }

  /** Keys of the live processes. */
  liveKeys(): IterableIterator<string> {
    return this.#live.keys();
  }

  /**
   * Pool totals of every counter and histogram: retired + Σ live, never below the previous call's result.
   * Returns a fresh object the caller may keep.
   */
  totals(): Snapshot {
    const out = cloneCumulative(this.#retired);
    for (const s of this.#live.values()) addInto(out, s);
    raiseTo(out, this.#lastTotals);
    this.#lastTotals = cloneCumulative(out);
    return out;
  }

  /** Sizes, for tests and `/pool` diagnostics: proof that memory stays bounded under churn. */
  get stats(): { readonly live: number; readonly rememberedGone: number; readonly keptFinalSnapshots: number } {
    let kept = 0;
    for (const v of this.#gone.values()) if (v !== null) kept += 1;
    return { live: this.#live.size, rememberedGone: this.#gone.size, keptFinalSnapshots: kept };
  }
}
