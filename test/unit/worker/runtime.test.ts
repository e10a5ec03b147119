/**
 * WorkerRuntime against an in-process fake link: the invariants every transport relies on: each delivery ends
 * in exactly one `done()` and one outcome, drain answers 503, a disconnect aborts, replies keep their order per
 * connection, and `done()` never overtakes a reply that waited for its turn.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { App } from '../../../src/app/app';
import { WorkerRuntime } from '../../../src/worker/runtime';
import { FakeLink, FakeTransport, type FakeDelivery } from '../../helpers/fake-link';
import { disconnectNotice, mongrel2Frame } from '../../helpers/mongrel2-frames';
import { waitFor } from '../../helpers/wait-for';

const silent = pino({ level: 'silent' });

/** A promise the test resolves. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

function runtimeOver(app: App, link: FakeLink): WorkerRuntime {
  const runtime = new WorkerRuntime({
    transport: new FakeTransport([link]),
    app,
    logger: silent,
    maxInFlight: 8,
    maxUploadBytes: 1 << 20,
    requestLogLevel: 'debug',
    lingerMs: 50,
  });
  runtime.start();
  return runtime;
}

/** The body of a Mongrel2 reply frame (`UUID SIZE:IDS, BODY`). */
function replyBody(frame: Buffer): string {
  const text = frame.toString('latin1');
  const afterUuid = text.indexOf(' ') + 1;
  const colon = text.indexOf(':', afterUuid);
  const size = Number(text.slice(afterUuid, colon));
  return text.slice(colon + 1 + size + 2);
}

const statusOf = (frame: Buffer): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(replyBody(frame))?.[1] ?? 0);

test('every delivery ends in exactly one done(), whatever it was', async () => {
  const app = new App();
  app.get('/ok', () => 'ok');
  const link = new FakeLink();
  const runtime = runtimeOver(app, link);
  link.push(mongrel2Frame({ connId: 1, path: '/ok' }));
  link.push(mongrel2Frame({ connId: 2, path: '/missing' }));
  link.push(Buffer.from('not a mongrel2 message'));
  link.push(disconnectNotice(3));
  link.push(mongrel2Frame({ connId: 4, path: '/ok', headers: { METHOD: 'BREW' } }));
  link.push(mongrel2Frame({ connId: 5, path: '/ok', headers: { UPLOAD_STREAM: 'x' } }));
  link.push(mongrel2Frame({ connId: 6, path: '/ok' }), 1);
  link.end();
  await waitFor(() => link.doneCount === 7, { what: 'seven done() calls' });
  await runtime.stop(1_000);
  assert.deepEqual(link.deliveries.map((d) => d.doneCalls), [1, 1, 1, 1, 1, 1, 1]);
  const s = runtime.stats.snapshot();
  assert.equal(s.inFlight, 0);
  assert.equal(runtime.stats.malformed, 1);
  assert.equal(runtime.stats.disconnectNotices, 1);
  // Requests (2 served, 1 not found, 2 refused) each got exactly one reply; the notice and the garbage none.
  const replies = (i: number): FakeDelivery => link.deliveries[i] as FakeDelivery;
  assert.deepEqual([0, 1, 4, 5, 6].map((i) => replies(i).replies.length >= 1), [true, true, true, true, true]);
  assert.deepEqual([2, 3].map((i) => replies(i).replies.length), [0, 0]);
  assert.equal(statusOf(replies(0).replies[0] as Buffer), 200);
  assert.equal(statusOf(replies(1).replies[0] as Buffer), 404);
  assert.equal(statusOf(replies(5).replies[0] as Buffer), 400);
});

test('a drain that runs out of time answers what is left with 503', async () => {
  const app = new App();
  const never = gate();
  app.get('/hang', async (ctx) => {
    await Promise.race([never.promise, new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)))]);
    return 'unreachable';
  });
  const link = new FakeLink();
  const runtime = runtimeOver(app, link);
  link.push(mongrel2Frame({ connId: 1, path: '/hang' }));
  await waitFor(() => runtime.stats.inFlight === 1, { what: 'the request in flight' });
  await runtime.stop(20);
  const [delivery] = link.deliveries;
  assert.equal(delivery?.doneCalls, 1);
  assert.equal(statusOf(delivery?.replies[0] as Buffer), 503);
});

test('a disconnect notice aborts the requests of that connection only', async () => {
  const app = new App();
  const aborted: number[] = [];
  app.get('/wait', async (ctx) => {
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
    aborted.push(Number(ctx.req.connId));
    return 'gone';
  });
  const release = gate();
  app.get('/other', async () => {
    await release.promise;
    return 'other';
  });
  const link = new FakeLink();
  const runtime = runtimeOver(app, link);
  link.push(mongrel2Frame({ connId: 7, path: '/wait' }));
  link.push(mongrel2Frame({ connId: 8, path: '/other' }));
  await waitFor(() => runtime.stats.inFlight === 2, { what: 'two requests in flight' });
  link.push(disconnectNotice(7));
  await waitFor(() => aborted.length === 1, { what: 'connection 7 aborted' });
  assert.deepEqual(aborted, [7]);
  assert.equal(runtime.stats.inFlight, 1);
  release.open();
  await waitFor(() => link.doneCount === 3, { what: 'all done' });
  await runtime.stop(1_000);
});

test('replies keep their order per connection, and done() waits for the reply that waited its turn', async () => {
  const app = new App();
  const first = gate();
  app.get('/first', async () => {
    await first.promise;
    return 'first';
  });
  app.get('/second', () => 'second');
  const link = new FakeLink();
  const runtime = runtimeOver(app, link);
  link.push(mongrel2Frame({ connId: 3, path: '/first' }));
  link.push(mongrel2Frame({ connId: 3, path: '/second' }));
  link.push(mongrel2Frame({ connId: 4, path: '/second' }));
  await waitFor(() => link.doneCount === 1, { what: 'the other connection answered' });
  const [one, two, other] = link.deliveries;
  assert.equal(other?.doneCalls, 1);
  // /second finished, but its reply waits behind /first on the same connection: not sent, not done.
  assert.equal(runtime.stats.inFlight, 1);
  assert.equal(two?.replies.length, 0);
  assert.equal(two?.doneCalls, 0);
  first.open();
  await waitFor(() => link.doneCount === 3, { what: 'both requests of connection 3 done' });
  assert.ok(replyBody(one?.replies[0] as Buffer).endsWith('first'));
  assert.ok(replyBody(two?.replies[0] as Buffer).endsWith('second'));
  const order = link.sent.map((f) => replyBody(f).split('\r\n\r\n')[1]);
  assert.deepEqual(order, ['second', 'first', 'second']);
  await runtime.stop(1_000);
});

test('at the in-flight cap the runtime stops reading until a request ends', async () => {
  const app = new App();
  const release = gate();
  app.get('/hold', async () => {
    await release.promise;
    return 'held';
  });
  const link = new FakeLink();
  const runtime = runtimeOver(app, link);
  for (let i = 1; i <= 10; i++) link.push(mongrel2Frame({ connId: i, path: '/hold' }));
  await waitFor(() => runtime.stats.inFlight === 8, { what: 'eight in flight' });
  assert.equal(link.deliveries.length, 8, 'the ninth message is not read while eight are in flight');
  release.open();
  await waitFor(() => link.doneCount === 10, { what: 'all ten done' });
  await runtime.stop(1_000);
});

test("a route's retry option reaches the request's delivery; a route without one leaves the method to decide", async () => {
  const app = new App();
  app.get('/once', () => 'charged', { retry: false });
  app.post('/put-like', () => 'stored', { retry: true });
  app.get('/plain', () => 'plain');
  const link = new FakeLink();
  const runtime = runtimeOver(app, link);
  link.push(mongrel2Frame({ connId: 1, path: '/once' }));
  link.push(mongrel2Frame({ connId: 2, path: '/put-like', method: 'POST' }));
  link.push(mongrel2Frame({ connId: 3, path: '/plain' }));
  await waitFor(() => link.doneCount === 3, { what: 'three done' });
  await runtime.stop(1_000);
  assert.deepEqual(link.deliveries.map((d) => d.retryHint), [false, true, undefined]);
});
