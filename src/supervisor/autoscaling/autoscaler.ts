/**
 * The autoscaler (docs/runbook.md "Autoscaling"): every `autoscale.intervalMs` it samples the pool from what the
 * supervisor already knows — the ready workers' heartbeats (mean requests in flight, event-loop utilisation, RSS) and
 * in-flight caps (their ready message), the dispatcher's pushed queue-wait histogram, the machine's CPU, the
 * rollout and the slots' crash-loop state — asks the pure rule (`autoscale-policy.ts`) and applies a change
 * through `setDesired` (reconcile.ts), the one entry point every kind of scaling uses. It never spawns anything.
 * Off (no timer) while the config has no `autoscale`.
 * @module
 */
import type { AutoscaleSettings } from '../../config/autoscale';
import { decideAutoscale, INITIAL_AUTOSCALE_STATE, type AutoscaleDecision, type AutoscaleSample, type AutoscaleState } from './autoscale-policy';
import type { CancelTimer, Clock } from '../arbiter/clock';
import type { Logger } from '../arbiter/logger';
import type { Notify, PoolObserver } from '../arbiter/observer';
import type { PoolState } from '../arbiter/pool-state';
import { queueWaitQuantileMs, type QueueWaitTotals } from '../dispatcher-child/queue-wait';
import type { ScaleResult } from '../arbiter/scale-request';
import type { WorkerHandle } from '../arbiter/worker-handle';

/** What the autoscaler reads and calls; the supervisor wires it (tests pass fakes). */
export interface AutoscalerDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly notify: Notify;
  /** Read only: phase, desired count, workers, rollout. */
  readonly state: PoolState;
  /** `setDesired(ctx, n, 'autoscale')`, then wake the loop. */
  readonly setDesired: (n: number) => ScaleResult;
  /** The dispatcher's latest queue-wait totals (undefined in the direct topology or before its first push). */
  readonly queueWait: () => QueueWaitTotals | undefined;
  /** Some slot's crash-loop breaker is open or it waits out a restart backoff. */
  readonly crashLooping: () => boolean;
  /** Machine CPU use since the previous call (`machine-cpu.ts`). */
  readonly cpu: () => number | undefined;
}

/** The signal values of one decision (the `pool.autoscale` log line and `/pool`). */
export interface AutoscaleSignals {
  /** Mean requests in flight over the interval, summed over the ready workers. */
  readonly inFlight: number;
  readonly utilization: number;
  readonly queueWaitP95Ms: number | null;
  readonly eventLoopUtilization: number | null;
  readonly cpuUtilization: number | null;
  readonly readyWorkers: number;
  readonly capacityPerWorker: number;
  readonly largestWorkerRssBytes: number;
}

/** The last decision as `/pool` shows it. */
export interface AutoscaleDecisionView extends AutoscaleSignals {
  readonly from: number;
  readonly desired: number;
  readonly direction: AutoscaleDecision['direction'];
  /** `no-capacity`: no ready worker reported its cap; `settling`: the ready set changed within the interval. */
  readonly reason: AutoscaleDecision['reason'] | 'no-capacity' | 'settling';
  readonly agoMs: number;
}

/** `/pool`'s `autoscale` field. */
export interface AutoscaleView {
  readonly min: number;
  readonly max: number;
  readonly intervalMs: number;
  readonly scaleDownWindowMs: number;
  readonly last: AutoscaleDecisionView | null;
}

/** Running sums of one worker's heartbeats within the current interval. */
interface Accumulator {
  inFlight: number;
  beats: number;
  elu: number;
  eluBeats: number;
}

/** The message of a refused manual scale while autoscaling is on (CLI, admin HTTP, signals, pm2 all get it). */
export function manualScaleRefusal(a: Pick<AutoscaleSettings, 'min' | 'max'>): string {
  return `autoscaling is on (autoscale.min..autoscale.max = ${a.min}..${a.max}), so manual scaling is refused: change autoscale.min/autoscale.max and reload, or remove autoscale from the configuration to scale by hand`;
}

/** See the module comment. An observer of the pool: it hears every worker heartbeat. */
export class Autoscaler implements PoolObserver {
  readonly #d: AutoscalerDeps;
  #settings: AutoscaleSettings | undefined;
  #policy: AutoscaleState = INITIAL_AUTOSCALE_STATE;
  #timer: CancelTimer | undefined;
  #beats = new Map<WorkerHandle, Accumulator>();
  #queueWait: QueueWaitTotals | undefined;
  #queueWaitP95Ms: number | undefined;
  /** The ready set changed since the queue-wait baseline was taken: the next delta mixes two pools. */
  #queueWaitBaselineStale = false;
  /** The ready workers at the previous interval (pids): a sample straddling a change mixes two pools. */
  #readyKey: string | undefined;
  #last: (Omit<AutoscaleDecisionView, 'agoMs'> & { readonly at: number }) | undefined;

  constructor(deps: AutoscalerDeps) {
    this.#d = deps;
  }

  /** Whether a configuration turns it on. */
  get on(): boolean {
    return this.#settings !== undefined;
  }

  /** The settings in force (undefined: off). */
  get settings(): AutoscaleSettings | undefined {
    return this.#settings;
  }

  /**
   * Start, retune or stop (undefined) it. A change of settings keeps the recommendations seen so far (the rule
   * brings a size outside new bounds back at the next decision); turning it off forgets them.
   */
  configure(settings: AutoscaleSettings | undefined): void {
    const previous = this.#settings;
    this.#settings = settings;
    if (settings === undefined) {
      this.stop();
      this.#policy = INITIAL_AUTOSCALE_STATE;
      if (previous !== undefined) this.#d.log.info({ event: 'pool.autoscale', outcome: 'off' }, 'pool.autoscale');
      return;
    }
    if (previous === undefined || previous.intervalMs !== settings.intervalMs) {
      this.stop();
      this.#arm(settings.intervalMs);
    }
    this.#d.log.info({ event: 'pool.autoscale', outcome: previous === undefined ? 'on' : 'retuned', ...settings }, 'pool.autoscale');
  }

  /** Stop the timer (pool stop). */
  stop(): void {
    this.#timer?.();
    this.#timer = undefined;
  }

  /** One heartbeat of a worker: only ready workers' count, averaged over the interval. */
  heartbeat(w: WorkerHandle): void {
    if (this.#settings === undefined || w.state !== 'ready') return;
    let acc = this.#beats.get(w);
    if (acc === undefined) {
      acc = { inFlight: 0, beats: 0, elu: 0, eluBeats: 0 };
      this.#beats.set(w, acc);
    }
    acc.inFlight += w.inFlightMean ?? w.inFlight;
    acc.beats += 1;
    if (w.eventLoopUtilization !== null) {
      acc.elu += w.eventLoopUtilization;
      acc.eluBeats += 1;
    }
  }

  /** `/pool`'s view; null while off. */
  view(now: number): AutoscaleView | null {
    const s = this.#settings;
    if (s === undefined) return null;
    let last: AutoscaleDecisionView | null = null;
    if (this.#last !== undefined) {
      const { at, ...decision } = this.#last;
      last = { ...decision, agoMs: now - at };
    }
    return { min: s.min, max: s.max, intervalMs: s.intervalMs, scaleDownWindowMs: s.scaleDownWindowMs, last };
  }

  #arm(ms: number): void {
    this.#timer = this.#d.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#tick();
      if (this.#settings !== undefined && this.#d.state.phase === 'running') this.#arm(this.#settings.intervalMs);
    }, ms);
  }

  /** One interval: sample, decide, apply. Never throws into the timer. */
  #tick(): void {
    const settings = this.#settings;
    const st = this.#d.state;
    if (settings === undefined || st.phase !== 'running') return;
    try {
      this.#decide(settings, this.#d.clock.now());
    } catch (err) {
      this.#d.log.error({ event: 'pool.autoscale', outcome: 'error', err }, 'pool.autoscale');
    }
  }

  #decide(settings: AutoscaleSettings, now: number): void {
    const st = this.#d.state;
    const signals = this.#sample();
    const from = st.desired;
    if (typeof signals === 'string') {
      // no-capacity: no ready worker reported its in-flight cap (booting, or too old to say): nothing to divide by.
      // settling: a worker joined or left the ready set within the interval; its sums are of two different pools.
      this.#last = { from, desired: from, direction: 'none', reason: signals, at: now, ...EMPTY_SIGNALS };
      this.#d.log.debug({ event: 'pool.autoscale', direction: 'none', reason: signals, desired: from }, 'pool.autoscale');
      return;
    }
    const sample: AutoscaleSample = {
      now,
      desired: from,
      readyWorkers: signals.readyWorkers,
      inFlight: signals.inFlight,
      capacityPerWorker: signals.capacityPerWorker,
      queueWaitP95Ms: signals.queueWaitP95Ms ?? undefined,
      eventLoopUtilization: signals.eventLoopUtilization ?? undefined,
      cpuUtilization: signals.cpuUtilization ?? undefined,
      largestWorkerRssBytes: signals.largestWorkerRssBytes,
      reloading: st.rollout !== null && !st.rollout.failed,
      crashLooping: this.#d.crashLooping(),
    };
    const { decision, state } = decideAutoscale(settings, this.#policy, sample);
    this.#policy = state;
    const fields = { event: 'pool.autoscale', from, desired: decision.desired, direction: decision.direction, reason: decision.reason, recommendation: decision.recommendation, ...signals };
    if (decision.desired !== from) {
      const r = this.#d.setDesired(decision.desired);
      if (!r.ok) {
        this.#d.log.warn({ ...fields, outcome: 'rejected', error: r.error }, 'pool.autoscale');
        return;
      }
      this.#d.log.info(fields, 'pool.autoscale');
    } else {
      this.#d.log.debug(fields, 'pool.autoscale');
    }
    this.#last = { from, desired: decision.desired, direction: decision.direction, reason: decision.reason, at: now, ...signals };
    this.#d.notify('autoscale', { direction: decision.direction, reason: decision.reason, desired: decision.desired, utilization: signals.utilization });
  }

  /** This interval's signals, and a fresh accumulator for the next; or why there are none this interval. */
  #sample(): AutoscaleSignals | 'no-capacity' | 'settling' {
    const ready = [...this.#d.state.workers].filter((w) => w.live && w.state === 'ready');
    const beats = this.#beats;
    this.#beats = new Map();
    const caps = ready.map((w) => w.maxInFlight).filter((n): n is number => n !== null);
    const cpu = this.#d.cpu();
    const readyKey = ready.map((w) => `${w.slot}/${w.pid ?? '-'}`).sort().join(',');
    const changed = readyKey !== this.#readyKey;
    this.#readyKey = readyKey;
    const queueWaitP95Ms = this.#queueWaitSignal(changed);
    if (caps.length === 0) return 'no-capacity';
    if (changed) return 'settling';
    const capacityPerWorker = caps.reduce((a, b) => a + b, 0) / caps.length;
    let inFlight = 0;
    let elu: number | null = null;
    let rss = 0;
    for (const w of ready) {
      const acc = beats.get(w);
      // A worker without a heartbeat this interval (just ready) counts with its last report.
      inFlight += acc === undefined || acc.beats === 0 ? w.inFlight : acc.inFlight / acc.beats;
      const e = acc !== undefined && acc.eluBeats > 0 ? acc.elu / acc.eluBeats : w.eventLoopUtilization;
      if (e !== null) elu = Math.max(elu ?? 0, e);
      rss = Math.max(rss, w.rssBytes);
    }
    return {
      inFlight: round(inFlight),
      utilization: round(inFlight / (Math.max(1, ready.length) * capacityPerWorker)),
      queueWaitP95Ms: queueWaitP95Ms === undefined ? null : round(queueWaitP95Ms),
      eventLoopUtilization: elu === null ? null : round(elu),
      cpuUtilization: cpu === undefined ? null : round(cpu),
      readyWorkers: ready.length,
      capacityPerWorker,
      largestWorkerRssBytes: rss,
    };
  }

  /**
   * p95 queue wait over the waits since the previous interval's snapshot. The dispatcher pushes every 2 s
   * (`DEFAULT_PUSH_INTERVAL_MS`): an interval without a new snapshot keeps the last value.
   *
   * A delta whose baseline was taken before the ready set changed is no signal: after a step
   * up it still holds the waits of the smaller pool (one worker with 2 slots for 4 clients: half the requests
   * wait a whole request), which pushed the p95 over the 50 ms target (360 ms seen on a loaded machine) and scaled
   * a pool that had just reached its size once more. The first snapshot of a later interval is the new baseline.
   */
  #queueWaitSignal(readySetChanged: boolean): number | undefined {
    if (readySetChanged) {
      this.#queueWaitBaselineStale = true;
      this.#queueWaitP95Ms = undefined;
    }
    const next = this.#d.queueWait();
    if (next === undefined) {
      this.#queueWait = undefined;
      this.#queueWaitP95Ms = undefined;
      return undefined;
    }
    if (next === this.#queueWait) return this.#queueWaitP95Ms;
    const prev = this.#queueWait;
    this.#queueWait = next;
    // The first snapshot seen only sets the baseline: its totals span the dispatcher's whole life.
    this.#queueWaitP95Ms = prev === undefined || this.#queueWaitBaselineStale ? undefined : queueWaitQuantileMs(prev, next) ?? 0;
    // A snapshot that arrived within the interval of the change may predate it: then it is no clean baseline yet.
    this.#queueWaitBaselineStale = readySetChanged;
    return this.#queueWaitP95Ms;
  }
}

const EMPTY_SIGNALS: AutoscaleSignals = Object.freeze({
  inFlight: 0,
  utilization: 0,
  queueWaitP95Ms: null,
  eventLoopUtilization: null,
  cpuUtilization: null,
  readyWorkers: 0,
  capacityPerWorker: 0,
  largestWorkerRssBytes: 0,
});

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
