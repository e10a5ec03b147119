/**
 * Map raw request facts to closed label sets (no allocation: every result is a constant string).
 * @module
 */

/** `status_class` values; `none` = no HTTP response was delivered (client gone, connection closed). */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'none'] as const;
/** One of {@link STATUS_CLASSES}. */
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** `method` values; anything else (Mongrel2's `JSON`/`XML` socket methods, extension methods) is `OTHER`. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'OTHER'] as const;
/** One of {@link HTTP_METHODS}. */
export type HttpMethodLabel = (typeof HTTP_METHODS)[number];

/** The `route` label of requests that matched no route (the raw path is never a label: unbounded cardinality). */
export const UNMATCHED_ROUTE = '(unmatched)';

/**
 * How a request ended, as the worker runtime reports it (the union of `worker/stats.ts` `Outcome` and
 * `adapters/app-contract.ts` `DispatchSummary['outcome']`, re-declared here so metrics/ imports nothing above it).
 */
export type RequestOutcome = 'response' | 'error' | 'timeout' | 'aborted' | 'closed';

/** The `method` label for a request method: one of the standard methods (upper-cased), else `OTHER`. */
export function methodLabel(method: string): HttpMethodLabel {
  switch (method) {
    case 'GET':
    case 'get':
      return 'GET';
    case 'HEAD':
    case 'head':
      return 'HEAD';
    case 'POST':
    case 'post':
      return 'POST';
    case 'PUT':
    case 'put':
      return 'PUT';
    case 'DELETE':
    case 'delete':
      return 'DELETE';
    case 'PATCH':
    case 'patch':
      return 'PATCH';
    case 'OPTIONS':
    case 'options':
      return 'OPTIONS';
    case 'CONNECT':
    case 'connect':
      return 'CONNECT';
    case 'TRACE':
    case 'trace':
      return 'TRACE';
    default:
      return 'OTHER';
  }
}

/**
 * The `status_class` label: `none` when no HTTP response reached the client (outcome `aborted` or `closed`, or a
 * status outside 100..599), else the hundreds digit of the status.
 */
export function statusClassOf(status: number, outcome: RequestOutcome): StatusClass {
  if (outcome === 'aborted' || outcome === 'closed') return 'none';
  if (!(status >= 100 && status < 600)) return 'none';
  if (status < 200) return '1xx';
  if (status < 300) return '2xx';
  if (status < 400) return '3xx';
  if (status < 500) return '4xx';
  return '5xx';
}
