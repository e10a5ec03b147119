/**
 * `invoke`: run one handler call under a deadline and an external signal, and say how it ended. Used by the
 * message-style entry points (WebSocket events, socket messages), where there is no HTTP response to track.
 * @module
 */

/** How a handler call ended. */
export type Invocation<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'error'; readonly err: unknown }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted'; readonly reason: unknown };

/**
 * Call `work` and settle on the first of: its result, its error, the deadline (`controller` is aborted with a
 * `TimeoutError` DOMException) or `external` aborting (`controller` is aborted with the same reason). Never
 * rejects. A handler that keeps running after the deadline is not stopped — only its signal fires.
 */
export function invoke<T>(work: () => T | Promise<T>, controller: AbortController, timeoutMs: number, external?: AbortSignal): Promise<Invocation<T>> {
  if (external?.aborted) {
    controller.abort(external.reason);
    return Promise.resolve({ kind: 'aborted', reason: external.reason });
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Invocation<T>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      external?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = (): void => {
      controller.abort(external?.reason);
      finish({ kind: 'aborted', reason: external?.reason });
    };
    const timer = setTimeout(() => {
      controller.abort(new DOMException('handler deadline exceeded', 'TimeoutError'));
      finish({ kind: 'timeout' });
    }, timeoutMs);
    external?.addEventListener('abort', onAbort, { once: true });
    Promise.resolve()
      .then(work)
      .then(
        (value) => finish({ kind: 'ok', value }),
        (err: unknown) => finish({ kind: 'error', err }),
      );
  });
}
