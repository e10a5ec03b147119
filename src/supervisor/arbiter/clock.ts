/**
 * The timer seam of the supervisor: everything time-related goes through a {@link Clock}, so unit tests drive
 * the reconcile loop with a fake one instead of sleeping.
 * @module
 */

/** Cancels a timer set with {@link Clock.setTimeout}; calling it after the timer fired is harmless. */
export type CancelTimer = () => void;

/** Wall-clock reads and one-shot timers. */
export interface Clock {
  /** Milliseconds since the epoch (only differences are used). */
  now(): number;
  /** Run `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): CancelTimer;
}

/** The real clock: `Date.now` and Node timers. */
export const systemClock: Clock = Object.freeze({
  now: (): number => Date.now(),
  setTimeout: (fn: () => void, ms: number): CancelTimer => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
});
