/**
 * The example app: what `npm start` serves and what the integration tests and benchmarks drive.
 *
 *   GET  /                 greeting (a Brubeck-style handler class)
 *   GET  /echo/<anything>  200 text/plain, body = the request path (a plain function)
 *   POST /echo             the body back with its content type
 *   ANY  /inspect[/...]    JSON: the request as m2pool parsed it
 *   GET  /slow?ms=N        answers after N ms (validated query; the route's deadline is 2 s)
 *   GET  /fail             throws: 500, stack logged, never shown
 *   POST /greet            validated JSON body {"name": "...", "excited"?: true}
 *   WS   /ws/echo          WebSocket: every text or binary message comes back as it was sent
 *                          (a cross-origin upgrade is refused with 403)
 *
 * Run it: npx m2pool worker --app ./examples/hello --send-spec <endpoint> --recv-spec <endpoint>
 * Outside this repository, import from 'm2pool' instead of '../../src'.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type * as Zod from 'zod';
import { App, Handler, lazySchema } from '../../src';

/**
 * zod, loaded by the first request that is validated: a worker that never serves /slow or /greet does not pay
 * its ~6 MiB (lazySchema builds each schema on first use).
 */
function zod(): typeof Zod.z {
  // NOTE: require, not import: an import at the top would load zod at start, which is what this avoids.
  return (require('zod') as typeof Zod).z;
}

/** Brubeck's handler: one class per resource, one method per HTTP verb. */
class Greeting extends Handler {
  get(): string {
    return 'Hello from m2pool!\n';
  }
}

export const app = new App();

app.route('/', Greeting);

app.get('/echo/*', (ctx) => ctx.req.path);

app.post('/echo', async (ctx) => {
  ctx.res.header('Content-Type', ctx.req.contentType ?? 'application/octet-stream');
  await ctx.res.send(ctx.req.body);
});

app.all('/inspect/*', (ctx) => ({
  method: ctx.req.method,
  path: ctx.req.path,
  query: ctx.req.query,
  headers: ctx.req.headers,
  body: ctx.req.body.toString('base64'),
  remoteAddress: ctx.req.remoteAddress,
  version: ctx.req.version,
  connId: ctx.req.connId,
}));

app.get(
  '/slow',
  async (ctx) => {
    // The signal fires on the deadline, a client disconnect, or a worker stop: the wait ends with it.
    await sleep(ctx.query.ms, undefined, { signal: ctx.signal });
    return `slept ${ctx.query.ms} ms\n`;
  },
  {
    timeoutMs: 2_000,
    query: lazySchema(() => {
      const z = zod();
      return z.object({ ms: z.coerce.number().int().min(0).max(60_000).default(100) });
    }),
  },
);

app.get('/fail', () => {
  throw new Error('this handler always fails');
});

app.post('/greet', (ctx) => ({ greeting: `Hello, ${ctx.body.name}${ctx.body.excited === true ? '!' : '.'}` }), {
  body: lazySchema(() => {
    const z = zod();
    return z.object({ name: z.string().min(1).max(100), excited: z.boolean().optional() });
  }),
  // Answering it twice changes nothing: the dispatcher may hand it to another worker if this one dies.
  retry: true,
});

/** Browsers send Origin with an upgrade: refusing other sites' pages stops cross-site WebSocket hijacking. */
function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true; // not a browser
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

// Stateless: any worker may get any frame of a connection; the framework answers ping and close itself.
app.websocket('/ws/echo', {
  open: (ctx) => sameOrigin(ctx.req.header('origin'), ctx.req.header('host')), // false → 403, connection closed
  message: (_ctx, msg) => msg.text ?? msg.data, // text back as TEXT, bytes back as BINARY
});
