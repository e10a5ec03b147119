/**
 * `Cancellation`: an abort source that costs nothing until somebody listens. The worker makes one per request
 * and most requests end without being aborted and without their handler reading `signal`, so the
 * `AbortController` (its creation, the EventTarget machinery, a listener per request: about 5 µs per request in
 * `npm run bench -- --profile`) is only built on demand.
 * @module
 */

/** Something a request can be cancelled by: a `Cancellation` or a standard `AbortSignal`. */
export type AbortSource = Cancellation | AbortSignal;

const NOOP = (): void => undefined;

/** An abort source with a lazily created `AbortSignal`. */
export class Cancellation {
  #aborted = false;
  #reason: unknown = undefined;
  #controller: AbortController | undefined;
  #listeners: Array<(reason: unknown) => void> | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** What `abort` was called with; `undefined` until then. */
  get reason(): unknown {
    return this.#reason;
  }

  /** Whether anybody could notice an abort: the `signal` was built, or a listener is subscribed. */
  get observed(): boolean {
    return this.#controller !== undefined || (this.#listeners !== undefined && this.#listeners.length > 0);
  }

  /** A standard `AbortSignal` mirroring this cancellation, created on first use. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Abort once; later calls do nothing. */
  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener(reason);
  }

  /** Call `listener` once when aborted (at once if it already is). Returns the function that unsubscribes it. */
  onAbort(listener: (reason: unknown) => void): () => void {
    if (this.#aborted) {
      listener(this.#reason);
      return NOOP;
    }
    const listeners = (this.#listeners ??= []);
    listeners.push(listener);
    return () => {
      const at = listeners.indexOf(listener);
      if (at >= 0) listeners.splice(at, 1);
    };
  }
}

/** Subscribe to either kind of abort source; returns the function that unsubscribes. */
export function onAbort(source: AbortSource, listener: (reason: unknown) => void): () => void {
  if (source instanceof Cancellation) return source.onAbort(listener);
  if (source.aborted) {
    listener(source.reason);
    return NOOP;
  }
  const handler = (): void => listener(source.reason);
  source.addEventListener('abort', handler, { once: true });
  return () => source.removeEventListener('abort', handler);
}
