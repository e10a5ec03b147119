import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import { App } from '../../../src/app/app';
import { captureLogs, LEVEL } from './log-capture';

/** A promise plus its resolve, to hand control between a test and a handler without sleeping. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('request deadline', () => {
  it('answers 504, aborts ctx.signal with a TimeoutError and logs a warning', async () => {
    const { logger, lines } = captureLogs();
    let signal: AbortSignal | undefined;
    const app = new App({ logger }).get(
      '/slow',
      async (ctx) => {
        signal = ctx.signal;
        await once(ctx.signal, 'abort');
      },
      { timeoutMs: 20 },
    );
    const res = await app.request('/slow');
    assert.equal(res.status, 504);
    assert.equal(res.text(), 'Gateway Timeout');
    assert.deepEqual(
      { outcome: res.result.outcome, status: res.result.status, route: res.result.route, closed: res.result.closed },
      { outcome: 'timeout', status: 504, route: '/slow', closed: false },
    );
    assert.equal(signal?.aborted, true);
    assert.ok(signal.reason instanceof DOMException);
    assert.equal(signal.reason.name, 'TimeoutError');
    const warnings = lines.filter((l) => l.level === LEVEL.warn);
    assert.deepEqual(warnings.map((l) => [l.msg, l['timeoutMs']]), [['request timed out', 20]]);
  });

  it('drops the handler writes that come after the 504', async () => {
    const lateDone = deferred();
    const app = new App().get(
      '/late',
      async (ctx) => {
        await once(ctx.signal, 'abort');
        await ctx.res.json({ late: true });
        lateDone.resolve();
      },
      { timeoutMs: 20 },
    );
    const res = await app.request('/late');
    await lateDone.promise;
    assert.equal(res.status, 504);
    assert.equal(res.sink.writes.length, 1);
    assert.equal(res.sink.bytes().includes('late'), false);
  });

  it('closes the connection when the deadline passes after the head was sent, and drops later chunks', async () => {
    const lateDone = deferred();
    const app = new App().get(
      '/stream',
      async (ctx) => {
        const stream = await ctx.res.stream();
        await stream.write('first');
        await once(ctx.signal, 'abort');
        await stream.write('second');
        await stream.end();
        lateDone.resolve();
      },
      { timeoutMs: 20 },
    );
    const res = await app.request('/stream');
    await lateDone.promise;
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'first');
    assert.equal(res.complete, false);
    assert.equal(res.closed, true);
    assert.equal(res.sink.writes.length, 2);
    assert.equal(res.sink.writesAfterClose, 0);
    assert.deepEqual(
      { outcome: res.result.outcome, status: res.result.status, closed: res.result.closed },
      { outcome: 'timeout', status: 200, closed: true },
    );
  });

  it('sends 504 with Connection: close and closes when the request wants close', async () => {
    const app = new App().get('/slow', (ctx) => once(ctx.signal, 'abort').then(() => undefined), { timeoutMs: 20 });
    const res = await app.request('/slow', { version: 'HTTP/1.0' });
    assert.equal(res.status, 504);
    assert.equal(res.headers['connection'], 'close');
    assert.equal(res.closed, true);
  });

  it('fires at the route timeout, not before, and not at the app default (mock timers)', async (t: TestContext) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let signal: AbortSignal | undefined;
    let deadline = 0;
    const app = new App({ requestTimeoutMs: 10_000 }).get(
      '/t',
      async (ctx) => {
        signal = ctx.signal;
        deadline = ctx.deadline;
        await once(ctx.signal, 'abort');
      },
      { timeoutMs: 50 },
    );
    const before = Date.now();
    const pending = app.request('/t');
    const after = Date.now();
    t.mock.timers.tick(49);
    assert.equal(signal?.aborted, false);
    t.mock.timers.tick(1);
    assert.equal(signal?.aborted, true);
    const res = await pending;
    assert.equal(res.status, 504);
    assert.ok(deadline >= before + 50 && deadline <= after + 50, `deadline ${deadline} not within [${before + 50}, ${after + 50}]`);
  });

  it('uses the app requestTimeoutMs when the route sets none (mock timers)', async (t: TestContext) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const app = new App({ requestTimeoutMs: 1000 }).get('/t', (ctx) => once(ctx.signal, 'abort').then(() => undefined));
    const pending = app.request('/t');
    t.mock.timers.tick(1000);
    assert.equal((await pending).result.outcome, 'timeout');
  });

  it('does not time out a response that was completely handed to the sink', async (t: TestContext) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const sent = deferred();
    const release = deferred();
    const app = new App().get(
      '/done',
      async (ctx) => {
        await ctx.res.text('done');
        sent.resolve();
        await release.promise;
      },
      { timeoutMs: 10 },
    );
    const pending = app.request('/done');
    await sent.promise;
    t.mock.timers.tick(10);
    release.resolve();
    const res = await pending;
    assert.equal(res.text(), 'done');
    assert.deepEqual({ outcome: res.result.outcome, status: res.result.status }, { outcome: 'response', status: 200 });
  });
});

describe('external abort', () => {
  it('ends as aborted, writes nothing and aborts ctx.signal with the given reason', async () => {
    const started = deferred();
    const lateDone = deferred();
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const app = new App().get('/work', async (ctx) => {
      signal = ctx.signal;
      started.resolve();
      await once(ctx.signal, 'abort');
      await ctx.res.text('too late');
      lateDone.resolve();
    });
    const pending = app.request('/work', { signal: controller.signal });
    await started.promise;
    const reason = new Error('client disconnected');
    controller.abort(reason);
    const res = await pending;
    await lateDone.promise;
    assert.equal(res.status, 0);
    assert.deepEqual(res.sink.writes, []);
    assert.equal(res.closed, false);
    assert.deepEqual(
      { outcome: res.result.outcome, status: res.result.status, bytesSent: res.result.bytesSent, closed: res.result.closed },
      { outcome: 'aborted', status: 0, bytesSent: 0, closed: false },
    );
    assert.equal(signal?.reason, reason);
  });

  it('stays a response when the signal fires after the response was sent', async () => {
    const sent = deferred();
    const release = deferred();
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const app = new App().get('/x', async (ctx) => {
      signal = ctx.signal;
      await ctx.res.text('ok');
      sent.resolve();
      await release.promise;
    });
    const pending = app.request('/x', { signal: controller.signal });
    await sent.promise;
    controller.abort(new Error('worker stopping'));
    release.resolve();
    const res = await pending;
    assert.equal(res.text(), 'ok');
    assert.deepEqual({ outcome: res.result.outcome, status: res.result.status }, { outcome: 'response', status: 200 });
    assert.equal(signal?.aborted, true);
  });

  it('does not run the handler when the signal is already aborted', async () => {
    let called = false;
    const app = new App().get('/x', () => {
      called = true;
      return 'x';
    });
    const res = await app.request('/x', { signal: AbortSignal.abort(new Error('stopping')) });
    assert.equal(called, false);
    assert.equal(res.result.outcome, 'aborted');
    assert.deepEqual(res.sink.writes, []);
  });

  it('keeps the partial stream open and sends nothing more when aborted mid-stream', async () => {
    const streaming = deferred();
    const lateDone = deferred();
    const controller = new AbortController();
    const app = new App().get('/s', async (ctx) => {
      const stream = await ctx.res.stream();
      await stream.write('part');
      streaming.resolve();
      await once(ctx.signal, 'abort');
      await stream.end('rest');
      lateDone.resolve();
    });
    const pending = app.request('/s', { signal: controller.signal });
    await streaming.promise;
    controller.abort();
    const res = await pending;
    await lateDone.promise;
    assert.equal(res.sink.writes.length, 2);
    assert.equal(res.text(), 'part');
    assert.equal(res.closed, false);
    assert.deepEqual({ outcome: res.result.outcome, status: res.result.status }, { outcome: 'aborted', status: 200 });
  });
});
