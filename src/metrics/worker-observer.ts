/**
 * What a worker records: one interface for every fact its runtime and reply path observe, told once per fact.
 * `worker/stats.ts` (the counters a worker logs and reports in its heartbeat) and `worker-metrics.ts` (the
 * Prometheus numbers pushed to the supervisor) are its two implementations; {@link observeBoth} tells both.
 * @module
 */
import type { RequestOutcome } from './labels';

/** One finished request, as the runtime knows it (a `DispatchSummary` fits). */
export interface RequestObservation {
  /** Route pattern as registered, or `UNMATCHED_ROUTE`; never the raw path. */
  readonly route: string;
  readonly method: string;
  /** HTTP status sent; ignored for outcomes `aborted` and `closed` (status class `none`). */
  readonly status: number;
  readonly durationMs: number;
  /** Response bytes handed to Mongrel2 for this request (counted once, by the app's sink). */
  readonly bytesSent: number;
  readonly outcome: RequestOutcome;
}

/** The facts of one worker, each told once. `now` is the caller's `performance.now()` (the request path has one). */
export interface WorkerObserver {
  /** An HTTP request (or WebSocket handshake) was read. */
  requestStarted(now: number): void;
  /** A request ended, in exactly one outcome (its deadline expiring is outcome `timeout`). */
  requestEnded(o: RequestObservation, now: number): void;
  /** A message did not parse (logged with an excerpt and skipped). */
  malformedMessage(): void;
  /** Mongrel2 sent a disconnect notice. */
  disconnectNotice(): void;
  /** Mongrel2 sent a credits notice. */
  creditNotice(): void;
  /** A notice or message that needs no reply (upload start, stream continuation). */
  otherNotice(): void;
  /** An inbound WebSocket frame (a message on an open connection, not a request). */
  websocketFrame(): void;
  /** A JSON/XML socket message. */
  socketMessage(): void;
  /** An async upload was refused as not Mongrel2's own (answered 400). */
  uploadRefused(): void;
  /** A reply could not be handed to the transport within the send timeout. */
  sendFailure(): void;
  /** Handling a message threw outside any request's own error handling. */
  internalError(): void;
}

/** Tells `a`, then `b`, every fact. */
class ObserverPair implements WorkerObserver {
  constructor(
    readonly a: WorkerObserver,
    readonly b: WorkerObserver,
  ) {}

  requestStarted(now: number): void {
    this.a.requestStarted(now);
    this.b.requestStarted(now);
  }

  requestEnded(o: RequestObservation, now: number): void {
    this.a.requestEnded(o, now);
    this.b.requestEnded(o, now);
  }

  malformedMessage(): void {
    this.a.malformedMessage();
    this.b.malformedMessage();
  }

  disconnectNotice(): void {
    this.a.disconnectNotice();
    this.b.disconnectNotice();
  }

  creditNotice(): void {
    this.a.creditNotice();
    this.b.creditNotice();
  }

  otherNotice(): void {
    this.a.otherNotice();
    this.b.otherNotice();
  }

  websocketFrame(): void {
    this.a.websocketFrame();
    this.b.websocketFrame();
  }

  socketMessage(): void {
    this.a.socketMessage();
    this.b.socketMessage();
  }

  uploadRefused(): void {
    this.a.uploadRefused();
    this.b.uploadRefused();
  }

  sendFailure(): void {
    this.a.sendFailure();
    this.b.sendFailure();
  }

  internalError(): void {
    this.a.internalError();
    this.b.internalError();
  }
}

/** One observer telling `first` and then `second` (if any) every fact. */
export function observeBoth(first: WorkerObserver, second: WorkerObserver | undefined): WorkerObserver {
  return second === undefined ? first : new ObserverPair(first, second);
}
