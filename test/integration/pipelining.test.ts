/**
 * Issue 11 finding 6, what holds in the direct topology: with ONE worker, pipelined requests on a connection are
 * answered in request order through a real Mongrel2, even when an earlier request finishes last. (With N workers
 * Mongrel2 round-robins one connection's requests over them and each orders only its own replies: README,
 * "Ordering".)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HttpConnection, buildRequest } from '../helpers/http-client';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { HELLO_APP, startWorker, type TestProcess } from '../helpers/processes';

const CONNECTIONS = 20;

describe('pipelined requests, one worker (real Mongrel2)', { timeout: 60_000 }, () => {
  let m2: TestMongrel2;
  let worker: TestProcess;

  before(async () => {
    m2 = await startTestMongrel2();
    worker = await startWorker(HELLO_APP, m2.workerArgs());
  });
  after(async () => {
    await worker?.stop();
    await m2?.stop();
  });

  test(`${CONNECTIONS} connections x 6 pipelined requests (slow ones first): every response, in request order`, async () => {
    // The slow requests finish after the fast ones behind them: order comes from the worker, not from timing.
    const paths = (c: number): string[] => ['/slow?ms=60', `/echo/${c}/1`, '/slow?ms=20', `/echo/${c}/3`, `/echo/${c}/4`, '/slow?ms=0'];
    const expected = (c: number): string[] => ['slept 60 ms\n', `/echo/${c}/1`, 'slept 20 ms\n', `/echo/${c}/3`, `/echo/${c}/4`, 'slept 0 ms\n'];
    const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => HttpConnection.open(m2.port)));
    try {
      const results = await Promise.all(
        conns.map(async (conn, c) => {
          // One write holding all six requests: Mongrel2 parses them back to back on one connection.
          conn.send(Buffer.concat(paths(c).map((path) => buildRequest({ path }))));
          const bodies: string[] = [];
          for (let i = 0; i < paths(c).length; i++) bodies.push((await conn.read({ timeoutMs: 10_000 })).body.toString());
          return bodies;
        }),
      );
      results.forEach((bodies, c) => assert.deepEqual(bodies, expected(c), `connection ${c}`));
    } finally {
      for (const conn of conns) conn.close();
    }
  });
});
