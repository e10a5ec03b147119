/**
 * Listeners for pool facts: the seam where whatever reacts to the pool plugs in without the arbiter knowing it —
 * the metrics (`control/metrics-observer.ts`, no prom-client in the supervisor), the runtime log levels
 * (`control/log-levels.ts`) and the autoscaler (`autoscaling/autoscaler.ts`). Every callback is optional, called
 * synchronously from the loop or an IPC event, and must be cheap; an observer that throws is logged and never
 * breaks the supervisor, nor keeps the others from hearing the fact.
 * @module
 */
import type { AutoscaleDecision } from '../autoscaling/autoscale-policy';
import type { Logger } from './logger';
import type { DrainReason, ExitReason, ExitVerdict } from './restart-policy';
import type { WorkerHandle, WorkerState } from './worker-handle';

/** Identity of one worker process (`PoolMetrics`' `WorkerRef`). */
export interface WorkerIdentity {
  readonly slot: number;
  readonly generation: number;
  readonly pid: number | null;
}

/** Why a slot got a new process. */
export type RestartCause = ExitReason | DrainReason;

/**
 * Facts the supervisor reports as they happen. `W` is what a worker is given as: outside observers see its
 * {@link WorkerIdentity}; the supervisor's own parts ({@link PoolObserver}) read its whole {@link WorkerHandle}.
 */
export interface SupervisorObserver<W extends WorkerIdentity = WorkerIdentity> {
  /** A worker entered `state`; `exited` is the last call for that process. */
  workerState?(worker: W, state: WorkerState): void;
  /** The loop acknowledged a worker's ready report (its slot's breaker and the disconnect relay took note). */
  workerReady?(worker: W): void;
  /**
   * One `m2pool:heartbeat`; `maxInFlight` is the worker's in-flight cap from its ready message, `inFlightMean` its
   * mean in flight since the previous heartbeat (null: not reported).
   */
  heartbeat?(
    worker: W,
    sample: { readonly inFlight: number; readonly handled: number; readonly loopLagMs: number; readonly rssBytes: number; readonly maxInFlight: number | null; readonly inFlightMean: number | null },
  ): void;
  /** The autoscaler decided (every interval, holds included); `desired` is the count after the decision. */
  autoscale?(decision: Pick<AutoscaleDecision, 'direction' | 'reason' | 'desired' | 'utilization'>): void;
  /** One `m2pool:metrics` payload, untouched (untrusted: validate before use). */
  metrics?(worker: W, metrics: unknown): void;
  /** A worker was reaped; `verdict.failure` means its slot will be respawned after backoff. */
  workerExit?(worker: W, verdict: ExitVerdict): void;
  /**
   * `slot` gets a new process because its previous one ended (`cause` = the failure's exit reason) or was
   * replaced (`reload`, `recycle-requests`, `recycle-rss`, `superseded`, or `external`: it drained on its own).
   */
  restart?(slot: number, cause: RestartCause): void;
  /** The desired count changed. */
  desired?(previous: number, desired: number): void;
  /** A reload was asked for: it started, or was refused (the configuration is invalid, the app does not load). */
  reload?(outcome: 'started' | 'config-invalid' | 'app-broken'): void;
  /** A reload changed `minReady` (ready workers needed for /readyz). */
  minReady?(n: number): void;
  /** The crash-loop breaker of `slot` opened or closed (a reload closes every breaker). */
  crashloop?(slot: number, open: boolean): void;
  /** `slot` was given up by a scale-down. */
  slotRemoved?(slot: number): void;
  /** The pool's dispatcher process started booting, or exited (`slot` is -1). */
  dispatcherState?(dispatcher: WorkerIdentity, state: 'booting' | 'exited'): void;
  /** One `m2pool:metrics` payload of the dispatcher, untouched (untrusted). */
  dispatcherMetrics?(dispatcher: WorkerIdentity, metrics: unknown): void;
  /** The dispatcher died (not stopped by us) and is restarted; `cause` is its exit reason. */
  dispatcherRestart?(cause: string): void;
}

/** An observer of the supervisor's own: it is handed the {@link WorkerHandle}s themselves. */
export type PoolObserver = SupervisorObserver<WorkerHandle>;

/** Calls into the observers, isolating the supervisor from their exceptions. */
export type Notify = <K extends keyof PoolObserver>(event: K, ...args: Parameters<NonNullable<PoolObserver[K]>>) => void;

/**
 * Build the {@link Notify} function for `observers`, told in order. An outside observer (a
 * `SupervisorObserver<WorkerIdentity>`, metrics) fits: a handle is an identity.
 */
export function notifier(observers: readonly PoolObserver[], log: Logger): Notify {
  return (event, ...args) => {
    for (const observer of observers) {
      const fn = observer[event] as ((...a: typeof args) => void) | undefined; // the generic signature above ties args to event
      if (fn === undefined) continue;
      try {
        fn.apply(observer, args);
      } catch (err) {
        log.warn({ event: 'observer.error', callback: event, err }, 'observer.error');
      }
    }
  };
}
