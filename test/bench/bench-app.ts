/**
 * Bench-only app for sized response bodies (examples/hello stays as it is):
 *   GET /bytes/:n   200 application/octet-stream, n bytes of 'x' (0 ≤ n ≤ 16 MiB; buffers are cached per size)
 *   GET /hello/:name  `hello NAME` as text/plain: the route examples/hono and examples/express answer (adapters scenario)
 * The floor handler and the node:http adapter serve the same bytes for the same path.
 * Run it: m2pool worker --app dist/test/bench/bench-app.js ...
 */
import { App, HttpError } from '../../src';

const MAX_BYTES = 16 * 1024 * 1024;
const bodies = new Map<number, Buffer>();

export const app = new App();

app.get('/bytes/:n', (ctx) => {
  const n = Number(ctx.params['n']);
  if (!Number.isInteger(n) || n < 0 || n > MAX_BYTES) throw new HttpError(400, `n must be an integer 0..${MAX_BYTES}`);
  let body = bodies.get(n);
  if (body === undefined) bodies.set(n, (body = Buffer.alloc(n, 'x')));
  return body;
});

app.get('/hello/:name', (ctx) => `hello ${ctx.params['name']}`);
