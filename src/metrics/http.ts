/**
 * `GET /metrics` for node:http: content negotiation, HEAD, 405 for other methods. The body comes from memory
 * (`render`), so a scrape never waits on a worker — unlike prom-client's `clusterMetrics()`, which fails the whole
 * scrape when one worker does not answer within 5 s.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONTENT_TYPES, negotiateFormat, type ExpositionFormat } from './exposition';

/** Anything that can render the exposition. */
export interface MetricsSource {
  render(format: ExpositionFormat): Promise<string>;
}

/**
 * Answer one metrics request. Never throws and never rejects; a render failure (a bug) becomes a 500 and is
 * passed to `onError`.
 */
export function serveMetrics(source: MetricsSource, req: IncomingMessage, res: ServerResponse, onError?: (err: unknown) => void): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('method not allowed\n');
    return;
  }
  const accept = req.headers.accept;
  const format = negotiateFormat(Array.isArray(accept) ? accept.join(',') : accept);
  const answer = (status: number, contentType: string, body: string): void => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      Vary: 'Accept',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  source.render(format).then(
    (body) => answer(200, CONTENT_TYPES[format], body),
    (err: unknown) => {
      try {
        onError?.(err);
      } catch {
        // NOTE: a throwing logger must not turn a 500 into an unhandled rejection.
      }
      answer(500, 'text/plain; charset=utf-8', 'metrics unavailable\n');
    },
  );
}
