/**
 * A manual {@link Clock} for supervisor unit tests: time moves only when the test calls `advance`, and due timers
 * run in time order inside that call.
 */
import type { CancelTimer, Clock } from '../../src/supervisor/arbiter/clock';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** Deterministic clock; starts at an arbitrary epoch. */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): CancelTimer {
    const timer = { id: ++this.#seq, at: this.#now + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Pending timers (for assertions that nothing leaks). */
  get pending(): number {
    return this.#timers.length;
  }

  /** Move time forward by `ms`, running every timer that falls due (including ones scheduled meanwhile). */
  advance(ms = 0): void {
    const end = this.#now + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = end;
  }

  /** Advance in `step` increments up to `ms` (lets timers scheduled relative to "now" interleave naturally). */
  run(ms: number, step = 10): void {
    for (let t = 0; t < ms; t += step) this.advance(Math.min(step, ms - t));
  }
}
