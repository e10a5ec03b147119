/**
 * One request to a foreign app (a fetch-style or a node:http app, see `fetch.ts` and `node-http.ts`), with the
 * guarantees m2pool's own `App.dispatch` gives: a deadline (504 when nothing was sent, a close once the head is
 * out), an outside abort (client gone, worker stopping) that cuts the app off, a throwing app answered 500 and
 * logged, exactly one `DispatchResult`, and no rejection. The adapter only turns the request into its app's call
 * and the app's answer into bytes on `out`.
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../app/app';
import { onAbort, type AbortSource } from '../app/cancellation';
import type { DispatchOutcome, DispatchResult } from '../app/handle-request';
import { GatedOutlet } from '../app/sinks';
import { outletFor } from '../http/http-wire';
import type { ResponseOutlet } from '../http/outlet';
import { Request } from '../http/request';
import { Response } from '../http/response';
import type { ReplySink } from '../http/sink';
import { statusText } from '../protocol/status-text';
import type { RawMessage } from '../protocol/types';
import { checkTimeout } from '../app/route-entry';
import type { MessageOptions, WorkerApp } from './app-contract';

/** What an adapter gets for one request. */
export interface ForeignRequest {
  /** The request, parsed as m2pool's handlers see it. */
  readonly req: Request;
  /** Where the response goes (the structure, or raw HTTP bytes); after a deadline or an abort, everything is dropped. */
  readonly out: ResponseOutlet;
  /** Aborts on the deadline (a `TimeoutError`) and when the request is aborted from outside. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Tell the exchange the status of the head once it was handed to `out` (for metrics and the 504 decision). */
  headSent(status: number): void;
}

/**
 * An adapter's work for one request: resolves once the whole response was handed to `out` (a close included),
 * rejects when the app failed. A failure before the head went out becomes a 500; after it, a close.
 */
export type ForeignServe = (request: ForeignRequest) => Promise<void>;

/** The settings of every exchange of one adapted app. */
export interface ForeignConfig {
  /** Route label of every request (metrics and logs): the app's own routes are invisible to m2pool. */
  readonly route: string;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
}

const EMPTY_OPTIONS: Partial<MessageOptions> = {};

/**
 * What every adapted app shares: its logger, its request deadline and the exchange each message runs in. A
 * subclass names its route label and turns one {@link ForeignRequest} into its app's call.
 */
export abstract class ForeignApp implements WorkerApp {
  readonly #route: string;
  readonly #logger: Logger;
  #timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS;

  protected constructor(route: string, logger: Logger = pino({ level: 'silent' })) {
    this.#route = route;
    this.#logger = logger;
  }

  /** The default request deadline (`--request-timeout-ms`). */
  setDefaultTimeout(ms: number): void {
    checkTimeout('requestTimeoutMs', ms);
    this.#timeoutMs = ms;
  }

  dispatch(msg: RawMessage, sink: ReplySink, options?: Partial<MessageOptions>): Promise<DispatchResult> {
    return runForeign({ route: this.#route, requestTimeoutMs: this.#timeoutMs, logger: this.#logger }, msg, sink, options, (r) => this.serve(r));
  }

  /** The adapter's work for one request (see {@link ForeignServe}). */
  protected abstract serve(r: ForeignRequest): Promise<void>;
}

/** Run `serve` for `msg` under the deadline and the outside abort of `options`. Never rejects. */
function runForeign(config: ForeignConfig, msg: RawMessage, sink: ReplySink, options: Partial<MessageOptions> | undefined, serve: ForeignServe): Promise<DispatchResult> {
  return new ForeignExchange(config, msg, sink, options ?? EMPTY_OPTIONS).run(serve);
}

class ForeignExchange implements ForeignRequest {
  readonly req: Request;
  readonly out: GatedOutlet;
  readonly #config: ForeignConfig;
  readonly #baseLog: Logger;
  #log: Logger | undefined;
  readonly #counting: ResponseOutlet;
  readonly #controller = new AbortController();
  readonly #external: AbortSource | undefined;
  readonly #started = performance.now();
  #status = 0;

  constructor(config: ForeignConfig, msg: RawMessage, sink: ReplySink, options: Partial<MessageOptions>) {
    this.#config = config;
    this.req = new Request(msg);
    this.#counting = outletFor(sink);
    this.out = new GatedOutlet(this.#counting);
    this.#external = options.cancellation ?? options.signal;
    this.#baseLog = options.logger ?? config.logger;
  }

  /** The request's child logger, made on first use: most requests never log. */
  get logger(): Logger {
    return (this.#log ??= this.#baseLog.child({ route: this.#config.route, method: this.req.method, connId: this.req.connId }));
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  headSent(status: number): void {
    if (this.#status === 0) this.#status = status;
  }

  async run(serve: ForeignServe): Promise<DispatchResult> {
    const external = this.#external;
    if (external?.aborted) {
      this.#controller.abort(external.reason);
      return this.#result('aborted');
    }
    let settle: (outcome: DispatchOutcome | Error) => void = () => undefined;
    const settled = new Promise<DispatchOutcome | Error>((resolve) => {
      settle = resolve;
    });
    const unsubscribe = external === undefined ? undefined : onAbort(external, (reason) => settle(new Aborted(reason)));
    const timer = setTimeout(() => settle(new DeadlinePassed()), this.#config.requestTimeoutMs);
    let work: Promise<void>;
    try {
      work = serve(this);
    } catch (err) {
      work = Promise.reject(err);
    }
    work.then(() => settle('response'), (err: unknown) => settle(err instanceof Error ? err : new Error(String(err))));
    const outcome = await settled;
    clearTimeout(timer);
    unsubscribe?.();
    if (outcome === 'response') return this.#result('response');
    this.out.shut();
    if (outcome instanceof Aborted) {
      this.#controller.abort(outcome.reason);
      return this.#result('aborted');
    }
    if (outcome instanceof DeadlinePassed) {
      this.#controller.abort(new DOMException('request deadline exceeded', 'TimeoutError'));
      this.logger.warn({ timeoutMs: this.#config.requestTimeoutMs }, 'request timed out');
      return this.#closeOrAnswer('timeout', 504);
    }
    this.#controller.abort(outcome);
    this.logger.error({ err: outcome }, 'handler failed');
    return this.#closeOrAnswer('error', 500);
  }

  /** The head is out: only a close can tell the client; otherwise a plain error page with `status`. */
  async #closeOrAnswer(outcome: DispatchOutcome, status: number): Promise<DispatchResult> {
    try {
      if (this.#status !== 0 || this.#counting.bytes > 0) {
        await this.#counting.close();
      } else {
        await new Response(this.#counting, this.req).text(statusText(status), status);
        this.#status = status;
      }
    } catch (err) {
      this.logger.warn({ err }, `could not answer the ${outcome}`);
    }
    return this.#result(outcome);
  }

  #result(outcome: DispatchOutcome): DispatchResult {
    return {
      outcome,
      status: this.#status,
      route: this.#config.route,
      method: this.req.method,
      bytesSent: this.#counting.bytes,
      closed: this.#counting.closed,
      durationMs: performance.now() - this.#started,
    };
  }
}

/** The request was aborted from outside (its reason kept). */
class Aborted extends Error {
  constructor(readonly reason: unknown) {
    super('aborted');
  }
}

class DeadlinePassed extends Error {
  constructor() {
    super('request deadline exceeded');
  }
}
