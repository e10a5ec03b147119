/**
 * Keep-alive HTTP load for the dispatch tests: `clients` connections, each sending one request at a time until
 * stopped, every response checked against what that request must get. Reconnects when the server closed the
 * connection (after a 503 with `Connection: close`).
 */
import { HttpConnection, buildRequest, type RawResponse, type RequestSpec } from './http-client';

/** One request's fate. */
export interface LoadResult {
  readonly client: number;
  readonly seq: number;
  readonly sentAt: number;
  /** When the response (or the failure) was seen. */
  readonly endedAt: number;
  readonly status: number;
  /** Why the request failed, or undefined if it got a complete response with the expected body (or a 503). */
  readonly problem?: string | undefined;
}

/** Options of {@link startLoad}. */
export interface LoadOptions {
  readonly port: number;
  readonly clients: number;
  /** The request client `c` sends as its `n`-th. */
  request(c: number, n: number): RequestSpec;
  /** The body a 200 to that request must have. */
  expectedBody(c: number, n: number): string;
  /** Per-request timeout. @default 10000 */
  readonly timeoutMs?: number;
  /** Close the connection and open a new one after this many requests on it. @default no limit */
  readonly requestsPerConnection?: number;
}

/** A running load. */
export interface Load {
  readonly results: LoadResult[];
  /** Stop sending; resolves when every client's last request ended. */
  stop(): Promise<LoadResult[]>;
  /** Resolves once at least `n` requests completed. */
  reached(n: number): Promise<void>;
}

/** Start the load; it runs until `stop()`. */
export function startLoad(options: LoadOptions): Load {
  const results: LoadResult[] = [];
  let running = true;
  const watchers = new Set<() => void>();
  const record = (r: LoadResult): void => {
    results.push(r);
    for (const w of [...watchers]) w();
  };
  const client = async (c: number): Promise<void> => {
    let conn: HttpConnection | undefined;
    let onConn = 0;
    for (let n = 0; running; n += 1) {
      if (conn === undefined) {
        conn = await HttpConnection.open(options.port);
        onConn = 0;
      }
      onConn += 1;
      const spec = options.request(c, n);
      const sentAt = performance.now();
      let res: RawResponse | undefined;
      let problem: string | undefined;
      try {
        conn.send(buildRequest(spec));
        res = await conn.read({ head: spec.method === 'HEAD', timeoutMs: options.timeoutMs ?? 10_000 });
        if (res.status === 200 && res.body.toString() !== options.expectedBody(c, n)) problem = `wrong body ${JSON.stringify(res.body.toString().slice(0, 80))}`;
        else if (res.status !== 200 && res.status !== 503) problem = `status ${res.status}`;
        else if (res.status === 503 && res.header('retry-after') === undefined) problem = '503 without Retry-After';
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
      }
      record({ client: c, seq: n, sentAt, endedAt: performance.now(), status: res?.status ?? 0, problem });
      if (problem !== undefined || res?.status === 503 || res?.header('connection') === 'close' || onConn === options.requestsPerConnection) {
        conn.close();
        conn = undefined;
      }
    }
    conn?.close();
  };
  const clients = Array.from({ length: options.clients }, (_, c) => client(c));
  return {
    results,
    stop: async () => {
      running = false;
      await Promise.all(clients);
      return results;
    },
    reached: (n) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (results.length >= n) {
            watchers.delete(check);
            resolve();
          }
        };
        watchers.add(check);
        check();
      }),
  };
}
