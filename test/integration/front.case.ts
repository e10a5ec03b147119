/**
 * One behavioural spec for both fronts of an app (the pattern of test/unit/transport/link.case.ts): each front has
 * a short test file handing this suite a factory that serves the example app on a local port — Mongrel2 with an
 * `m2pool worker` behind it, or `m2pool serve` (node:http). The same requests must get the same answers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { HttpConnection, buildRequest, rawRequest } from '../helpers/http-client';

/** The example app served by one front. */
export interface ServedApp {
  /** Local TCP port of the front. */
  readonly port: number;
  /** Stop everything the factory started. */
  stop(): Promise<void>;
}

/** Starts the example app (examples/hello) behind one front. */
export type FrontFactory = () => Promise<ServedApp>;

const JSON_BODY: ReadonlyArray<readonly [string, string]> = [['Content-Type', 'application/json']];

/** Run the shared suite against one front. */
export function frontSuite(name: string, serve: FrontFactory): void {
  describe(`${name}: the example app`, { timeout: 60_000 }, () => {
    let served: ServedApp;
    let port: number;
    before(async () => {
      served = await serve();
      port = served.port;
    });
    after(() => served?.stop());

    test('GET / is the greeting, as text/plain with a Date', async () => {
      const res = await rawRequest(port, { path: '/' });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'Hello from m2pool!\n');
      assert.equal(res.header('content-type'), 'text/plain; charset=utf-8');
      assert.match(res.header('date') ?? '', /GMT$/);
    });

    test('GET /echo/x is the raw path; HEAD has its length and no body', async () => {
      const res = await rawRequest(port, { path: '/echo/a%20b?x=1' });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), '/echo/a%20b');
      const head = await rawRequest(port, { method: 'HEAD', path: '/echo/abc' });
      assert.equal(head.status, 200);
      assert.equal(head.header('content-length'), String('/echo/abc'.length));
      assert.equal(head.body.length, 0);
    });

    test('POST /echo round-trips a binary body (the upload) with its content type', async () => {
      const body = Buffer.concat([Buffer.from([0, 0xff, 0x80, 0x0d, 0x0a]), randomBytes(4000)]);
      const res = await rawRequest(port, { method: 'POST', path: '/echo', headers: [['Content-Type', 'application/x-test']], body });
      assert.equal(res.status, 200);
      assert.equal(res.header('content-type'), 'application/x-test');
      assert.deepEqual(res.body, body);
    });

    test('GET /slow past its route deadline is 504; within it, 200', async () => {
      const late = await rawRequest(port, { path: '/slow?ms=10000' }, { timeoutMs: 8_000 });
      assert.equal(late.status, 504);
      const onTime = await rawRequest(port, { path: '/slow?ms=10' });
      assert.equal(onTime.status, 200);
      assert.equal(onTime.body.toString(), 'slept 10 ms\n');
    });

    test('GET /fail is 500 without the error or its stack', async () => {
      const res = await rawRequest(port, { path: '/fail' });
      assert.equal(res.status, 500);
      assert.doesNotMatch(res.body.toString(), /always fails|at /);
    });

    test('POST /greet validates its JSON body: 400 with the problems, 200 when valid', async () => {
      const bad = await rawRequest(port, { method: 'POST', path: '/greet', headers: JSON_BODY, body: '{"name": 5}' });
      assert.equal(bad.status, 400);
      const problems = JSON.parse(bad.body.toString()) as { issues: Array<{ path: string }> };
      assert.deepEqual(problems.issues.map((i) => i.path), ['name']);
      const ok = await rawRequest(port, { method: 'POST', path: '/greet', headers: JSON_BODY, body: '{"name":"Ada","excited":true}' });
      assert.equal(ok.status, 200);
      assert.deepEqual(JSON.parse(ok.body.toString()), { greeting: 'Hello, Ada!' });
    });

    test('an unknown path is 404; a wrong method 405 with Allow', async () => {
      assert.equal((await rawRequest(port, { path: '/nope' })).status, 404);
      const wrongMethod = await rawRequest(port, { method: 'DELETE', path: '/echo' });
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.header('allow'), 'GET, HEAD, POST, OPTIONS');
    });

    test('keep-alive and pipelining: answers come in request order on one connection; HTTP/1.0 is closed after', async () => {
      const conn = await HttpConnection.open(port);
      try {
        conn.send(Buffer.concat([buildRequest({ path: '/slow?ms=150' }), buildRequest({ path: '/echo/second' })]));
        assert.equal((await conn.read()).body.toString(), 'slept 150 ms\n');
        assert.equal((await conn.read()).body.toString(), '/echo/second');
      } finally {
        conn.close();
      }
      const old = await rawRequest(port, { path: '/echo/old', version: 'HTTP/1.0' }, { awaitClose: true });
      assert.equal(old.status, 200);
      assert.equal(old.closedAfter, true);
    });
  });
}
