/**
 * Fetch-style apps on the pool: anything with `fetch(request: Request) => Response | Promise<Response>` (Hono,
 * itty-router, an `export default { fetch }` module). Each Mongrel2 request becomes a standard `Request` (its
 * `signal` aborts on the deadline and when the client goes away); the `Response` is written through m2pool's own
 * `Response`, so framing, HEAD, `Connection: close` and the reply bytes are those of m2pool's App. A body that is
 * all there at once (a string, a buffer) leaves as one message with Content-Length; a body still being produced
 * is streamed as chunked, each chunk as the app yields it.
 * @module
 */
import type { ReadableStreamDefaultReader } from 'node:stream/web';
import type { Logger } from 'pino';
import { Response as M2Response } from '../http/response';
import { ForeignApp, type ForeignRequest } from './exchange';

/** What a fetch-style app offers: Hono's `app.fetch`, itty-router's `router.fetch`. */
export interface FetchHandler {
  fetch(request: Request): Response | Promise<Response>;
}

/** Route label of every request of a fetch app (its own routes are not known to m2pool). */
export const FETCH_ROUTE = '(fetch app)';

/** A body collected this far without waiting is sent with Content-Length; past it, chunked. */
const COLLECT_LIMIT = 1024 * 1024;

/** A fetch-style app as a {@link WorkerApp}. */
export class FetchAdapter extends ForeignApp {
  readonly #handler: FetchHandler;

  constructor(handler: FetchHandler, logger?: Logger) {
    super(FETCH_ROUTE, logger);
    this.#handler = handler;
  }

  protected async serve(r: ForeignRequest): Promise<void> {
    const response = await this.#handler.fetch(toFetchRequest(r));
    if (!(response instanceof Response)) throw new TypeError(`the app's fetch returned ${typeof response === 'object' ? String(response) : typeof response}, not a Response`);
    await writeResponse(r, response);
  }
}

/**
 * The standard Request for one message. A HEAD goes to the app as a GET (as m2pool's App runs the GET route for
 * HEAD): the body it answers gives the Content-Length, and m2pool's Response sends none of it.
 */
export function toFetchRequest(r: ForeignRequest): Request {
  const req = r.req;
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.append(name, value);
    else for (const v of value) headers.append(name, v);
  }
  const host = req.header('host') ?? 'localhost';
  const scheme = req.scheme === 'https' ? 'https' : 'http';
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const body = method === 'GET' || req.body.length === 0 ? null : req.body;
  return new Request(`${scheme}://${host}${req.uri}`, { method, headers, body, signal: r.signal });
}

/** Write `response` on `r.out` through m2pool's Response. */
async function writeResponse(r: ForeignRequest, response: Response): Promise<void> {
  const res = new M2Response(r.out, r.req);
  res.status(response.status);
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.appendHeader(name, value);
  }
  // Every Set-Cookie stays its own header line (iterating Headers may join the others with ", ").
  for (const cookie of response.headers.getSetCookie()) res.appendHeader('Set-Cookie', cookie);
  if (response.body === null) {
    r.headSent(response.status);
    return res.empty();
  }
  const reader = response.body.getReader();
  const cancel = (): void => void reader.cancel(r.signal.reason).catch(() => undefined);
  r.signal.addEventListener('abort', cancel, { once: true });
  try {
    await pump(r, res, reader, response.status);
  } finally {
    r.signal.removeEventListener('abort', cancel);
  }
}

type Read = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
const PENDING = Symbol('pending');

/** The next chunk if it is there before the event loop turns (an in-memory body), else PENDING. */
function readNow(pending: Promise<Read>): Promise<Read | typeof PENDING> {
  return Promise.race([pending, new Promise<typeof PENDING>((resolve) => setImmediate(resolve, PENDING))]);
}

async function pump(r: ForeignRequest, res: M2Response, reader: ReadableStreamDefaultReader<Uint8Array>, status: number): Promise<void> {
  const collected: Buffer[] = [];
  let size = 0;
  let pending = reader.read();
  while (size <= COLLECT_LIMIT) {
    const next = await readNow(pending);
    if (next === PENDING) break;
    if (next.done) {
      r.headSent(status);
      return res.send(Buffer.concat(collected, size));
    }
    collected.push(toBuffer(next.value));
    size += next.value.byteLength;
    pending = reader.read();
  }
  // Still being produced: the head now, then every chunk as it comes (each write waits for the transport).
  r.headSent(status);
  const stream = await res.stream();
  if (size > 0) await stream.write(Buffer.concat(collected, size));
  for (;;) {
    const next = await pending;
    if (next.done) break;
    await stream.write(toBuffer(next.value));
    if (r.signal.aborted) return;
    pending = reader.read();
  }
  await stream.end();
}

function toBuffer(chunk: Uint8Array): Buffer {
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
