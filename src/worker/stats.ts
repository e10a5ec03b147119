/**
 * Outcome accounting for one worker. Invariant (docs/architecture.md #1): every request read ends in exactly one
 * outcome, so `received === inFlight + sum(outcomes)` at all times. A WebSocket handshake is a request (status 101
 * or the refusal's); the frames that follow, and JSON/XML socket messages, are messages on an open connection:
 * counted in `websocketFrames` / `socketMessages`, never in `received` or the outcomes.
 * The counting implementation of `WorkerObserver` (`metrics/worker-observer.ts`; the Prometheus one is
 * `metrics/worker-metrics.ts`).
 * @module
 */
import type { RequestObservation, WorkerObserver } from '../metrics/worker-observer';

/** How a request ended. */
export type Outcome = 'response' | 'error' | 'timeout' | 'aborted' | 'closed';

/** Counters of one worker since it started. */
export class WorkerStats implements WorkerObserver {
  /** HTTP requests read (notices excluded). */
  received = 0;
  /** Requests whose outcome is not known yet. */
  inFlight = 0;
  readonly outcomes: Record<Outcome, number> = { response: 0, error: 0, timeout: 0, aborted: 0, closed: 0 };
  /** Messages that did not parse; logged with a hex excerpt and skipped. */
  malformed = 0;
  disconnectNotices = 0;
  creditNotices = 0;
  /** Notices and messages that need no reply (upload start, stream continuations). */
  otherNotices = 0;
  /** Inbound WebSocket frames (messages and control frames), whatever their handling. */
  websocketFrames = 0;
  /** JSON/XML socket messages (`@name` / `<name` routes). */
  socketMessages = 0;
  /** Async uploads refused as not Mongrel2's own (answered 400; the file is never read or unlinked). */
  uploadsRefused = 0;
  /** Replies the transport could not hand over within the send timeout. */
  sendFailures = 0;
  /** Messages whose handling threw outside any request's own error handling (logged as `message.failed`). */
  internalErrors = 0;
  /** Response bytes of ended requests (the app's count: each byte counted once). */
  bytesSent = 0;
  /** ∫ inFlight dt in request·ms since {@link takeInFlightArea} was last called (the heartbeat's mean in flight). */
  #inFlightArea = 0;
  #inFlightSince = performance.now();

  requestStarted(now: number): void {
    this.begin(now);
  }

  requestEnded(o: RequestObservation, now: number): void {
    this.end(o.outcome, now);
    this.bytesSent += o.bytesSent;
  }

  malformedMessage(): void {
    this.malformed += 1;
  }

  disconnectNotice(): void {
    this.disconnectNotices += 1;
  }

  creditNotice(): void {
    this.creditNotices += 1;
  }

  otherNotice(): void {
    this.otherNotices += 1;
  }

  websocketFrame(): void {
    this.websocketFrames += 1;
  }

  socketMessage(): void {
    this.socketMessages += 1;
  }

  uploadRefused(): void {
    this.uploadsRefused += 1;
  }

  sendFailure(): void {
    this.sendFailures += 1;
  }

  internalError(): void {
    this.internalErrors += 1;
  }

  /** A request was read (at `now`, the caller's `performance.now()`: the request path has one already). */
  begin(now = performance.now()): void {
    this.#accrue(now);
    this.received += 1;
    this.inFlight += 1;
  }

  /** A request ended (at `now`, as for {@link begin}). */
  end(outcome: Outcome, now = performance.now()): void {
    this.#accrue(now);
    this.inFlight -= 1;
    this.outcomes[outcome] += 1;
  }

  #accrue(now: number): void {
    this.#inFlightArea += this.inFlight * (now - this.#inFlightSince);
    this.#inFlightSince = now;
  }

  /**
   * Requests in flight integrated over time (request·ms) since the previous call, and start again: divided by
   * the elapsed time it is the mean in flight, which a sample at one instant is not (a timer-driven heartbeat
   * tends to fire just before the timers that finish requests, and so sees them still in flight).
   */
  takeInFlightArea(): number {
    this.#accrue(performance.now());
    const area = this.#inFlightArea;
    this.#inFlightArea = 0;
    return area;
  }

  /** Requests that have ended, whatever the outcome. */
  get handled(): number {
    return this.received - this.inFlight;
  }

  /** Plain snapshot for logs and IPC. */
  snapshot(): Record<string, number> {
    return {
      received: this.received,
      inFlight: this.inFlight,
      ...this.outcomes,
      malformed: this.malformed,
      disconnectNotices: this.disconnectNotices,
      creditNotices: this.creditNotices,
      otherNotices: this.otherNotices,
      websocketFrames: this.websocketFrames,
      socketMessages: this.socketMessages,
      uploadsRefused: this.uploadsRefused,
      sendFailures: this.sendFailures,
      internalErrors: this.internalErrors,
      bytesSent: this.bytesSent,
    };
  }
}
