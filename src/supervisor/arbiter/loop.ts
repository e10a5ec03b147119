/**
 * The reconcile loop's engine (gunicorn's `Arbiter.run` with its `sleep`): one timer, set to the earliest moment
 * any part has something to do and at least every `MAX_TICK_MS` (reconcile.ts). Each pass acts on the recorded intents,
 * reaps and acknowledges what child events recorded, then runs the workers' steps (`reconcile.ts`) and the
 * dispatcher's (`dispatcher-child/dispatcher-keeper.ts`): while running, or while stopping until every child is
 * gone. A failing pass is logged and counted, never thrown; `/healthz` reads the count and the last pass's time.
 * @module
 */
import type { CancelTimer, Clock } from './clock';
import type { Logger } from './logger';
import { nextDeadline, stepRun, stepStop, type StepContext } from './reconcile';

/** The dispatcher's keeper as a pass drives it (`DispatcherKeeper`: its own run and stop steps and deadlines). */
export interface DispatcherSteps {
  stepRun(now: number): void;
  /** @returns true once it has exited (or there never was one). */
  stepStop(now: number, workersLeft: number, deadline: number, fast: boolean): boolean;
  /** The earlier of `at` and its own next deadline. */
  nextDeadline(now: number, at: number): number;
}

/** What a pass reads and calls; the supervisor wires it. */
export interface LoopDeps {
  readonly clock: Clock;
  readonly log: Logger;
  /** The workers' step context (its configuration changes at a reload). */
  readonly ctx: () => StepContext;
  readonly dispatcher: DispatcherSteps;
  /** Act on the intents recorded since the previous pass (signals, pm2). */
  readonly takeIntents: () => void;
  /** After a pass while running. */
  readonly ran: () => void;
  /** Every child is gone at stop. */
  readonly stopped: (now: number) => void;
}

/** The loop's timer and pass; see the module comment. */
export class ReconcileLoop {
  readonly #d: LoopDeps;
  #timer: { readonly at: number; readonly cancel: CancelTimer } | null = null;
  /** When the last pass ran (`/healthz`: a stalled loop is not live). */
  lastPassAt = 0;
  /** Passes in a row that threw. */
  failedPasses = 0;

  constructor(deps: LoopDeps) {
    this.#d = deps;
  }

  /** Schedule a pass now (a fact or an intent was recorded). */
  wake(): void {
    this.#schedule(this.#d.clock.now(), 0);
  }

  /** No more passes (the pool stopped). */
  cancel(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }

  #schedule(now: number, delay: number): void {
    const at = now + delay;
    if (this.#timer !== null && this.#timer.at <= at) return;
    this.#timer?.cancel();
    this.#timer = { at, cancel: this.#d.clock.setTimeout(() => this.#pass(), delay) };
  }

  /** One pass: intents, reaping, then the run or stop steps. Never throws. */
  #pass(): void {
    this.#timer = null;
    const st = this.#d.ctx().state;
    if (st.phase === 'idle' || st.phase === 'stopped') return;
    const now = this.#d.clock.now();
    const dispatcher = this.#d.dispatcher;
    try {
      this.#d.takeIntents();
      const ctx = this.#d.ctx(); // after the intents: a reload among them may have brought a new configuration
      ctx.keeper.reap(now);
      ctx.keeper.acknowledge(now);
      if (st.stop !== null) {
        const workersGone = stepStop(ctx, now);
        // The dispatcher goes last: draining workers still reply through it.
        if (dispatcher.stepStop(now, st.workers.size, st.stop.deadline, st.stop.mode === 'fast') && workersGone) this.#d.stopped(now);
      } else {
        dispatcher.stepRun(now);
        stepRun(ctx, now);
        this.#d.ran();
      }
      this.failedPasses = 0;
    } catch (err) {
      this.failedPasses += 1;
      this.#d.log.error({ event: 'supervisor.loop-error', err, consecutive: this.failedPasses }, 'supervisor.loop-error');
    }
    this.lastPassAt = now;
    if (this.#d.ctx().state.phase !== 'stopped') this.#schedule(now, Math.max(dispatcher.nextDeadline(now, nextDeadline(this.#d.ctx(), now)) - now, 1));
  }
}
