/**
 * The fetch and node:http adapters in process, with real Hono and Express apps and a recording sink: the
 * request's signal on abort and deadline, errors before and after the head, Set-Cookie, HEAD, one message for a
 * body that is all there, back-pressure with node's `drain`, and which export is taken as which kind of app.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import express from 'express';
import { Hono } from 'hono';
import { adaptApp } from '../../../src/adapters/detect';
import { FetchAdapter } from '../../../src/adapters/fetch';
import { NodeHttpAdapter } from '../../../src/adapters/node-http';
import { App } from '../../../src/app/app';
import { Cancellation } from '../../../src/app/cancellation';
import { buildRawMessage, type TestRequestInit } from '../../../src/app/testing/testing';
import type { ReplySink } from '../../../src/http/sink';
import { messageOptions, type WorkerApp } from '../../../src/worker/app-contract';
import { captureLogs, LEVEL } from '../app/log-capture';

/** Records every write (one entry per sink write) and closes; `slow` resolves each write on a later turn. */
class RecordingSink implements ReplySink {
  readonly writes: Buffer[] = [];
  closes = 0;
  constructor(readonly slow = false) {}
  async write(data: Buffer): Promise<void> {
    if (this.slow) await new Promise((resolve) => setImmediate(resolve));
    this.writes.push(Buffer.from(data));
  }
  async close(): Promise<void> {
    this.closes += 1;
  }
  get text(): string {
    return Buffer.concat(this.writes).toString('latin1');
  }
}

function run(app: WorkerApp, path: string, init: TestRequestInit = {}, cancellation = new Cancellation(), sink = new RecordingSink()) {
  const { logger, lines } = captureLogs();
  const result = app.dispatch(buildRawMessage(path, init), sink, messageOptions(cancellation, logger));
  return { result, sink, lines, cancellation };
}

describe('fetch adapter (Hono)', () => {
  it("aborts the Request's signal when the request is aborted from outside, and sends nothing", async () => {
    let seen: AbortSignal | undefined;
    const hono = new Hono().get('/wait', async (c) => {
      seen = c.req.raw.signal;
      await once(c.req.raw.signal, 'abort');
      return c.text('late');
    });
    const { result, sink, cancellation } = run(new FetchAdapter(hono), '/wait');
    while (seen === undefined) await new Promise((resolve) => setImmediate(resolve));
    cancellation.abort(new Error('client disconnected'));
    const r = await result;
    assert.equal(r.outcome, 'aborted');
    assert.equal(seen.aborted, true);
    assert.equal(sink.writes.length, 0);
  });

  it('on the deadline aborts the signal with a TimeoutError and answers 504', async () => {
    let reason: unknown;
    const hono = new Hono().get('/wait', async (c) => {
      await once(c.req.raw.signal, 'abort');
      reason = c.req.raw.signal.reason;
      return c.text('late');
    });
    const adapter = new FetchAdapter(hono);
    adapter.setDefaultTimeout(20);
    const { result, sink } = run(adapter, '/wait');
    const r = await result;
    assert.deepEqual([r.outcome, r.status], ['timeout', 504]);
    assert.match(sink.text, /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
    assert.equal((reason as DOMException).name, 'TimeoutError');
  });

  it('a fetch that throws is answered 500 and logged', async () => {
    const { result, sink, lines } = run(new FetchAdapter({ fetch: () => { throw new Error('boom'); } }), '/');
    const r = await result;
    assert.deepEqual([r.outcome, r.status], ['error', 500]);
    assert.match(sink.text, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
    assert.doesNotMatch(sink.text, /boom/);
    const errors = lines.filter((l) => l.level === LEVEL.error);
    assert.deepEqual(errors.map((l) => [l.msg, (l['err'] as { message: string }).message]), [['handler failed', 'boom']]);
  });

  it('a body that fails after the head went out closes the connection', async () => {
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        controller.enqueue(new TextEncoder().encode('part'));
        await new Promise((resolve) => setTimeout(resolve, 5));
        controller.error(new Error('producer died'));
      },
    });
    const { result, sink } = run(new FetchAdapter({ fetch: () => new Response(body) }), '/');
    const r = await result;
    assert.deepEqual([r.outcome, r.status, sink.closes], ['error', 200, 1]);
    assert.match(sink.text, /transfer-encoding: chunked\r\n[\s\S]*\r\n4\r\npart\r\n$/i);
  });

  it('a body that is all there leaves as one write with Content-Length; every Set-Cookie stays a line', async () => {
    const hono = new Hono().get('/', (c) => {
      c.header('Set-Cookie', 'a=1', { append: true });
      c.header('Set-Cookie', 'b=2', { append: true });
      return c.text('hello');
    });
    const { result, sink } = run(new FetchAdapter(hono), '/');
    assert.equal((await result).status, 200);
    assert.equal(sink.writes.length, 1);
    assert.match(sink.text, /\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n/i);
    assert.match(sink.text, /\r\nContent-Length: 5\r\n/);
    assert.ok(sink.text.endsWith('\r\n\r\nhello'));
  });

  it('HEAD runs the GET route: its Content-Length, no body', async () => {
    const hono = new Hono().get('/', (c) => c.text('hello'));
    const { result, sink } = run(new FetchAdapter(hono), '/', { method: 'HEAD' });
    assert.equal((await result).status, 200);
    assert.match(sink.text, /\r\nContent-Length: 5\r\n/);
    assert.ok(sink.text.endsWith('\r\n\r\n'));
  });

  it('the request body reaches the app as a stream, the response streams back chunked', async () => {
    const hono = new Hono().post('/', async (c) => {
      const text = await c.req.text();
      return new Response(new ReadableStream({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode(text.toUpperCase()));
          await new Promise((resolve) => setTimeout(resolve, 5));
          controller.enqueue(new TextEncoder().encode('!'));
          controller.close();
        },
      }));
    });
    const { result, sink } = run(new FetchAdapter(hono), '/', { method: 'POST', body: 'abc', headers: { 'content-type': 'text/plain' } });
    assert.equal((await result).outcome, 'response');
    assert.match(sink.text, /\r\n\r\n3\r\nABC\r\n1\r\n!\r\n0\r\n\r\n$/);
  });
});

describe('node:http adapter (Express)', () => {
  it("the response closes (as on a client disconnect) when the request is aborted; nothing is sent", async () => {
    let closed = false;
    let started = false;
    const app = express().get('/wait', (_req, res) => {
      started = true;
      res.once('close', () => (closed = true));
    });
    const { result, sink, cancellation } = run(new NodeHttpAdapter(app), '/wait');
    while (!started) await new Promise((resolve) => setImmediate(resolve));
    cancellation.abort(new Error('client disconnected'));
    assert.equal((await result).outcome, 'aborted');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, true);
    assert.equal(sink.writes.length, 0);
  });

  it('a listener that throws is answered 500 and logged; one that fails after its head closes', async () => {
    const throwing = run(new NodeHttpAdapter(() => { throw new Error('boom'); }), '/');
    const r = await throwing.result;
    assert.deepEqual([r.outcome, r.status], ['error', 500]);
    assert.match(throwing.sink.text, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
    assert.deepEqual(throwing.lines.filter((l) => l.level === LEVEL.error).map((l) => l.msg), ['handler failed']);

    const late = run(new NodeHttpAdapter(async (_req, res: ServerResponse) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('part');
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('late failure');
    }), '/');
    const l = await late.result;
    assert.deepEqual([l.outcome, l.status, late.sink.closes], ['error', 200, 1]);
  });

  it('head and body of res.send() are one write; every Set-Cookie stays a line; HTTP/1.0 is closed after', async () => {
    const app = express().get('/', (_req, res) => {
      res.cookie('a', '1').cookie('b', '2').type('text/plain').send('hello');
    });
    const { result, sink } = run(new NodeHttpAdapter(app), '/', { version: 'HTTP/1.0' });
    assert.equal((await result).status, 200);
    assert.equal(sink.writes.length, 1);
    assert.match(sink.text, /\r\nSet-Cookie: a=1; Path=\/\r\nSet-Cookie: b=2; Path=\/\r\n/);
    assert.match(sink.text, /\r\nConnection: close\r\n/);
    assert.ok(sink.text.endsWith('\r\n\r\nhello'));
    assert.equal(sink.closes, 1);
  });

  it("HEAD gets the GET route's Content-Length and no body", async () => {
    const app = express().get('/', (_req, res) => void res.type('text/plain').send('hello'));
    const { result, sink } = run(new NodeHttpAdapter(app), '/', { method: 'HEAD' });
    assert.equal((await result).status, 200);
    assert.match(sink.text, /\r\nContent-Length: 5\r\n/);
    assert.ok(sink.text.endsWith('\r\n\r\n'));
  });

  it('a large response written with back-pressure (write() false, then drain) arrives whole through a slow sink', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const count = 64;
    const app = express().get('/', async (_req, res) => {
      res.type('application/octet-stream');
      let waited = 0;
      for (let i = 0; i < count; i++) {
        if (!res.write(chunk)) {
          waited += 1;
          await once(res, 'drain');
        }
      }
      res.end(`waited ${waited}`);
    });
    const { result, sink } = run(new NodeHttpAdapter(app), '/', {}, new Cancellation(), new RecordingSink(true));
    const r = await result;
    assert.equal(r.outcome, 'response');
    const text = sink.text;
    const body = text.slice(text.indexOf('\r\n\r\n') + 4).replace(/(^|\r\n)[0-9a-f]+\r\n/g, '$1').replace(/\r\n/g, '');
    assert.equal(body.slice(0, chunk.length * count), 'a'.repeat(chunk.length * count));
    assert.match(body.slice(chunk.length * count), /^waited [1-9]\d*$/);
  });

  it('the request body reaches express.json() as a stream', async () => {
    const app = express().post('/', express.json(), (req, res) => void res.json({ got: (req.body as { n: number }).n + 1 }));
    const { result, sink } = run(new NodeHttpAdapter(app), '/', { method: 'POST', body: { n: 41 } });
    assert.equal((await result).status, 200);
    assert.ok(sink.text.endsWith('{"got":42}'));
  });
});

describe('adaptApp: which export is which kind of app', () => {
  const hono = new Hono();
  const expressApp = express();
  const own = new App();
  it('auto: an m2pool App as itself, a fetch app through the fetch adapter, a listener through the node adapter', () => {
    assert.equal(adaptApp(own, 'auto'), own);
    assert.ok(adaptApp(hono, 'auto') instanceof FetchAdapter);
    assert.ok(adaptApp({ fetch: () => new Response('x') }, 'auto') instanceof FetchAdapter);
    assert.ok(adaptApp(expressApp, 'auto') instanceof NodeHttpAdapter);
    assert.equal(adaptApp({ notAnApp: 1 }, 'auto'), undefined);
    assert.equal(adaptApp(undefined, 'auto'), undefined);
  });

  it('an explicit kind takes only its own shape', () => {
    assert.equal(adaptApp(hono, 'node'), undefined);
    assert.equal(adaptApp(expressApp, 'fetch'), undefined);
    assert.equal(adaptApp(hono, 'm2pool'), undefined);
    assert.ok(adaptApp(hono, 'fetch') instanceof FetchAdapter);
    assert.ok(adaptApp(expressApp, 'node') instanceof NodeHttpAdapter);
  });
});
