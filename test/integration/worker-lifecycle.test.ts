/**
 * `m2pool worker` lifecycle and topology against real Mongrel2 servers: disconnects, several workers, several
 * servers, garbage on the socket, graceful and forced stops, boot failures.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { encode } from '../../src/protocol/tnetstring';
import { HttpConnection, buildRequest, rawRequest } from '../helpers/http-client';
import { startFakeMongrel2 } from '../helpers/fake-mongrel2';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { CLI, HELLO_APP, spawnNode, startWorker } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

const requestLogs = (logs: Array<Record<string, unknown>>) => logs.filter((l) => l['msg'] === 'request');

test('a client disconnect aborts the slow handler serving it', { timeout: 30_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const worker = await startWorker(HELLO_APP, m2.workerArgs(), ['--log-level', 'debug']);
  t.after(() => worker.stop());

  const conn = await HttpConnection.open(m2.port);
  conn.send(buildRequest({ path: '/slow?ms=1900' }));
  await worker.waitForLog((l) => l['msg'] === 'request.start' && l['path'] === '/slow');
  conn.close();
  const line = await worker.waitForLog((l) => l['msg'] === 'request' && l['path'] === '/slow');
  assert.equal(line['outcome'], 'aborted');
});

test('two workers share one Mongrel2 and both serve', { timeout: 30_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const a = await startWorker(HELLO_APP, m2.workerArgs(), ['--request-log-level', 'info']);
  t.after(() => a.stop());
  const b = await startWorker(HELLO_APP, m2.workerArgs(), ['--request-log-level', 'info']);
  t.after(() => b.stop());

  const n = 40;
  const bodies = await Promise.all(
    Array.from({ length: n }, async (_, i) => (await rawRequest(m2.port, { path: `/echo/${i}` })).body.toString()),
  );
  assert.deepEqual(bodies, Array.from({ length: n }, (_, i) => `/echo/${i}`));
  const served = () => [requestLogs(a.logs).length, requestLogs(b.logs).length];
  // Request lines are written after the reply is sent: wait until both workers' logs account for all of them.
  await waitFor(() => served().reduce((x, y) => x + y) === n, { what: `${n} request log lines` });
  const [byA, byB] = served();
  assert.ok((byA ?? 0) > 0 && (byB ?? 0) > 0, `both workers serve (a=${byA}, b=${byB})`);
});

test('a worker rides out a Mongrel2 restart: it logs the lost link, reconnects and serves again', { timeout: 30_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const worker = await startWorker(HELLO_APP, m2.workerArgs());
  t.after(() => worker.stop());
  assert.equal((await rawRequest(m2.port, { path: '/echo/before' })).body.toString(), '/echo/before');

  await m2.restart();
  await worker.waitForLog((l) => l['event'] === 'link.lost');
  await worker.waitForLog((l) => l['event'] === 'link.ready');
  // Ready means Mongrel2 subscribed again: no reply to the new server may vanish (each request has 5 s).
  const bodies = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => (await rawRequest(m2.port, { path: `/echo/after-${i}` }, { timeoutMs: 5_000 })).body.toString()),
  );
  assert.deepEqual(bodies, Array.from({ length: 20 }, (_, i) => `/echo/after-${i}`));
  assert.equal(worker.child.exitCode, null, 'the worker was not restarted');
});

test('one worker serves two Mongrel2 servers, replying to each through its own socket', { timeout: 30_000 }, async (t) => {
  const first = await startTestMongrel2();
  t.after(() => first.stop());
  const second = await startTestMongrel2({ transport: 'tcp' });
  t.after(() => second.stop());
  const worker = await startWorker(HELLO_APP, [...first.workerArgs(), ...second.workerArgs()]);
  t.after(() => worker.stop());

  // Both servers number connections from 1, so the ids collide: replies must still reach the right server.
  const [one, two] = await Promise.all([
    rawRequest(first.port, { path: '/echo/first' }),
    rawRequest(second.port, { path: '/echo/second' }),
  ]);
  assert.equal(one.body.toString(), '/echo/first');
  assert.equal(two.body.toString(), '/echo/second');
});

test('garbage on the request socket is logged, counted and skipped; the worker keeps serving', { timeout: 30_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  // A second, fake "Mongrel2" we control: a PUSH for requests and a SUB for replies.
  const fake = await startFakeMongrel2();
  t.after(() => fake.close());
  const { push, sub } = fake;
  const worker = spawnNode([CLI, 'worker', '--app', HELLO_APP, ...m2.workerArgs(), ...fake.workerArgs]);
  t.after(() => worker.stop());
  await fake.awaitReady(worker);

  const garbage = [
    Buffer.from('hey'),
    Buffer.from('sender 12 /x 5:abc,0:,'),
    Buffer.from('sender notanumber /x 2:{},0:,'),
    Buffer.from([0xff, 0x00, 0x20, 0x20, 0x20, 0x99]),
    Buffer.from('sender 1 /x 99999999999:'),
  ];
  for (const g of garbage) await push.send(g);
  // A well-formed request on the same socket afterwards is answered through the paired reply socket.
  const headers = encode({ METHOD: 'GET', PATH: '/echo/fake', VERSION: 'HTTP/1.1', URI: '/echo/fake', PATTERN: '/', REMOTE_ADDR: '127.0.0.1' });
  await push.send(Buffer.concat([Buffer.from('fake-sender 7 /echo/fake '), headers, Buffer.from('0:,')]));
  const [reply] = await sub.receive();
  assert.match(reply?.toString('latin1') ?? '', /^fake-sender 1:7, HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n\/echo\/fake$/);

  const malformed = () => worker.logs.filter((l) => l['event'] === 'message.malformed');
  await worker.waitForLog(() => malformed().length === garbage.length);
  assert.equal(malformed()[0]?.['excerpt'], Buffer.from('hey').toString('hex'));
  const res = await rawRequest(m2.port, { path: '/echo/still-alive' });
  assert.equal(res.body.toString(), '/echo/still-alive');
});

test('SIGTERM lets an in-flight slow request finish, then the worker exits 0', { timeout: 30_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const worker = await startWorker(HELLO_APP, m2.workerArgs(), ['--log-level', 'debug']);
  t.after(() => worker.stop());

  const pending = rawRequest(m2.port, { path: '/slow?ms=800' });
  await worker.waitForLog((l) => l['msg'] === 'request.start' && l['path'] === '/slow');
  worker.signal('SIGTERM');
  const res = await pending;
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'slept 800 ms\n');
  assert.deepEqual(await worker.exited, [0, null]);
});

test('a second SIGTERM exits at once without waiting for the drain', { timeout: 30_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const worker = await startWorker(HELLO_APP, m2.workerArgs(), ['--log-level', 'debug']);
  t.after(() => worker.stop());

  const conn = await HttpConnection.open(m2.port);
  t.after(() => conn.close());
  conn.send(buildRequest({ path: '/slow?ms=1900' }));
  await worker.waitForLog((l) => l['msg'] === 'request.start');
  worker.signal('SIGTERM');
  await worker.waitForLog((l) => l['msg'] === 'worker.stop');
  worker.signal('SIGTERM');
  const [code] = await worker.exited;
  assert.equal(code, 1);
  assert.ok(worker.logs.some((l) => l['event'] === 'worker.exit.forced'));
});

test('boot failures exit with distinct codes and clear messages', { timeout: 30_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-boot-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const endpoints = ['--send-spec', `ipc://${dir}/none-req`, '--recv-spec', `ipc://${dir}/none-rep`];

  const noMongrel2 = spawnNode([CLI, 'worker', '--app', HELLO_APP, ...endpoints, '--boot-timeout-ms', '300']);
  t.after(() => noMongrel2.stop());
  assert.deepEqual(await noMongrel2.exited, [3, null]);
  assert.ok(noMongrel2.logs.some((l) => l['code'] === 'M2P_ERR_WORKER_BOOT'));

  const badApp = spawnNode([CLI, 'worker', '--app', './no/such/module', ...endpoints]);
  t.after(() => badApp.stop());
  assert.deepEqual(await badApp.exited, [4, null]);
  assert.ok(badApp.logs.some((l) => l['code'] === 'M2P_ERR_APP_LOAD'));

  const badFlags = spawnNode([CLI, 'worker', '--app', HELLO_APP, '--send-spec', 'x', '--max-in-flight', 'many', '--bogus']);
  t.after(() => badFlags.stop());
  assert.deepEqual(await badFlags.exited, [2, null]);
  assert.match(badFlags.stderr(), /--bogus/);
});
