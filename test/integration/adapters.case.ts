/**
 * One behavioural spec for the standard-app examples (examples/hono: a fetch app; examples/express: a node:http
 * app) behind every front: Mongrel2 with a dispatch pool, Mongrel2 with a worker straight on it (direct), and
 * `m2pool serve`. Each front has a short test file handing this suite a factory per example app. Both examples
 * have the same contract, so the same requests must get the same answers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HttpConnection, buildRequest, rawRequest } from '../helpers/http-client';
import { REPO_ROOT } from '../helpers/processes';

/** An example app served by one front. */
export interface ServedExample {
  /** Local TCP port of the front. */
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts `app` (a module path) behind one front, with `--request-timeout-ms 1500` and an upload store. */
export type ExampleFactory = (app: string) => Promise<ServedExample>;

/** The two examples with the shared contract. */
export const EXAMPLES = {
  hono: path.join(REPO_ROOT, 'examples/hono'),
  express: path.join(REPO_ROOT, 'examples/express'),
} as const;

/** The deadline the factories give the workers. */
export const TEST_REQUEST_TIMEOUT_MS = 1_500;

/** Bytes of a streamed GET as they arrive: resolves with what had arrived when `first` was first seen, and the whole. */
function streamed(port: number, urlPath: string, first: string): Promise<{ atFirst: string; all: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let atFirst: string | undefined;
    socket.on('connect', () => socket.write(buildRequest({ path: urlPath })));
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (atFirst === undefined && text.includes(first)) atFirst = text;
      if (text.endsWith('\r\n0\r\n\r\n')) {
        socket.destroy();
        resolve({ atFirst: atFirst ?? '', all: text });
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed before the end of the stream: ${JSON.stringify(text)}`)));
  });
}

/** Run the shared suite for both examples behind one front. */
export function adapterSuite(front: string, serve: ExampleFactory): void {
  for (const [name, app] of Object.entries(EXAMPLES)) {
    describe(`${front}: examples/${name}`, { timeout: 90_000 }, () => {
      let served: ServedExample;
      let port: number;
      before(async () => {
        served = await serve(app);
        port = served.port;
      });
      after(() => served?.stop());

      test('GET /hello/:name is `hello NAME` as text/plain; HEAD has its length and no body', async () => {
        const res = await rawRequest(port, { path: '/hello/ada' });
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'hello ada');
        assert.match(res.header('content-type') ?? '', /^text\/plain/i);
        const head = await rawRequest(port, { method: 'HEAD', path: '/hello/ada' });
        assert.equal(head.status, 200);
        assert.equal(head.header('content-length'), '9');
        assert.equal(head.body.length, 0);
      });

      test('POST /echo round-trips a binary body with its content type', async () => {
        const body = Buffer.concat([Buffer.from([0, 0xff, 0x80, 0x0d, 0x0a]), randomBytes(4000)]);
        const res = await rawRequest(port, { method: 'POST', path: '/echo', headers: [['Content-Type', 'application/x-test']], body });
        assert.equal(res.status, 200);
        assert.equal(res.header('content-type'), 'application/x-test');
        assert.deepEqual(res.body, body);
      });

      test('POST /echo with a 1 MiB body (Mongrel2: the async upload path) comes back whole', async () => {
        const body = randomBytes(1024 * 1024);
        const res = await rawRequest(port, { method: 'POST', path: '/echo', headers: [['Content-Type', 'application/octet-stream']], body }, { timeoutMs: 30_000 });
        assert.equal(res.status, 200);
        assert.equal(res.body.length, body.length);
        assert.ok(res.body.equals(body));
      });

      test('GET /stream arrives chunked, the first chunk before the last is written', async () => {
        const { atFirst, all } = await streamed(port, '/stream', 'chunk 1');
        assert.match(all, /\r\ntransfer-encoding: chunked\r\n/i);
        assert.doesNotMatch(atFirst, /chunk 3/);
        const body = all.slice(all.indexOf('\r\n\r\n') + 4).replace(/(^|\r\n)[0-9a-f]+\r\n/g, '$1').replace(/\r\n/g, '');
        assert.equal(body, 'chunk 1\nchunk 2\nchunk 3\n');
      });

      test('two Set-Cookie headers stay two header lines', async () => {
        const res = await rawRequest(port, { path: '/cookies' });
        assert.equal(res.status, 200);
        assert.deepEqual(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
      });

      test('GET /fail is 500 without the stack', async () => {
        const res = await rawRequest(port, { path: '/fail' });
        assert.equal(res.status, 500);
        assert.doesNotMatch(res.body.toString(), /always fails|at /);
      });

      test('GET /slow past the request deadline is 504; within it, 200', async () => {
        const late = await rawRequest(port, { path: '/slow?ms=10000' }, { timeoutMs: 8_000 });
        assert.equal(late.status, 504);
        const onTime = await rawRequest(port, { path: '/slow?ms=10' });
        assert.equal(onTime.status, 200);
        assert.equal(onTime.body.toString(), 'slept 10 ms');
      });

      test('keep-alive: answers in request order on one connection; HTTP/1.0 is closed after', async () => {
        const conn = await HttpConnection.open(port);
        try {
          conn.send(Buffer.concat([buildRequest({ path: '/slow?ms=150' }), buildRequest({ path: '/hello/second' })]));
          assert.equal((await conn.read()).body.toString(), 'slept 150 ms');
          assert.equal((await conn.read()).body.toString(), 'hello second');
        } finally {
          conn.close();
        }
        const old = await rawRequest(port, { path: '/hello/old', version: 'HTTP/1.0' }, { awaitClose: true });
        assert.equal(old.status, 200);
        assert.equal(old.body.toString(), 'hello old');
        assert.equal(old.closedAfter, true);
      });
    });
  }
}
