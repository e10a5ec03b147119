/**
 * A plain Hono app, run on the pool unchanged (m2pool calls its `fetch`). The same contract as examples/express:
 *
 *   GET  /hello/:name   `hello NAME` as text/plain
 *   POST /echo          the request body back, with its content type
 *   GET  /stream        three chunks, 100 ms apart (streamed as chunked)
 *   GET  /cookies       two Set-Cookie headers
 *   GET  /slow?ms=N     answers after N ms, or stops when the request's signal aborts (deadline, client gone)
 *   GET  /fail          throws: 500, logged
 *
 * Run it: node dist/src/cli/main.js start --app examples/hono   (or serve --http 127.0.0.1:8080 --app examples/hono)
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Hono } from 'hono';
import { setCookie } from 'hono/cookie';
import { stream } from 'hono/streaming';

const app = new Hono();

app.get('/hello/:name', (c) => c.text(`hello ${c.req.param('name')}`));

app.post('/echo', async (c) => {
  const body = await c.req.arrayBuffer();
  return c.body(body, 200, { 'Content-Type': c.req.header('content-type') ?? 'application/octet-stream' });
});

app.get('/stream', (c) => {
  c.header('Content-Type', 'text/plain; charset=utf-8');
  return stream(c, async (s) => {
    for (let i = 1; i <= 3; i++) {
      if (i > 1) await s.sleep(100);
      await s.write(`chunk ${i}\n`);
    }
  });
});

app.get('/cookies', (c) => {
  setCookie(c, 'a', '1', { path: '/' });
  setCookie(c, 'b', '2', { path: '/', httpOnly: true });
  return c.text('two cookies');
});

app.get('/slow', async (c) => {
  const ms = Number(c.req.query('ms') ?? '100');
  await sleep(ms, undefined, { signal: c.req.raw.signal });
  return c.text(`slept ${ms} ms`);
});

app.get('/fail', () => {
  throw new Error('this handler always fails');
});

export default app;
