/**
 * A plain Express 5 app, run on the pool unchanged (m2pool hands it node's own IncomingMessage and
 * ServerResponse). The same contract as examples/hono:
 *
 *   GET  /hello/:name   `hello NAME` as text/plain
 *   POST /echo          the request body back, with its content type
 *   GET  /stream        three chunks, 100 ms apart (streamed as chunked)
 *   GET  /cookies       two Set-Cookie headers
 *   GET  /slow?ms=N     answers after N ms, or stops when the client goes away or the deadline passes
 *   GET  /fail          throws: 500, logged (the error handler at the end)
 *
 * Run it: node dist/src/cli/main.js start --app examples/express   (or serve --http 127.0.0.1:8080 --app examples/express)
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';

const app = express();

app.get('/hello/:name', (req, res) => {
  res.type('text/plain').send(`hello ${req.params['name']}`);
});

app.post('/echo', express.raw({ type: () => true, limit: '64mb' }), (req, res) => {
  res.type(req.get('content-type') ?? 'application/octet-stream').send(req.body as Buffer);
});

app.get('/stream', async (_req, res) => {
  res.type('text/plain');
  for (let i = 1; i <= 3; i++) {
    if (i > 1) await sleep(100);
    res.write(`chunk ${i}\n`);
  }
  res.end();
});

app.get('/cookies', (_req, res) => {
  res.cookie('a', '1', { path: '/' });
  res.cookie('b', '2', { path: '/', httpOnly: true });
  res.type('text/plain').send('two cookies');
});

app.get('/slow', async (req, res) => {
  const ms = Number(req.query['ms'] ?? '100');
  // The response closes early when the client goes away or the deadline passes: stop waiting then.
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  try {
    await sleep(ms, undefined, { signal: gone.signal });
  } catch {
    return;
  }
  res.type('text/plain').send(`slept ${ms} ms`);
});

app.get('/fail', () => {
  throw new Error('this handler always fails');
});

// Express's default error page shows the stack outside production; this one never does.
app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
  console.error(err);
  res.status(500).type('text/plain').send('Internal Server Error');
});

export default app;
