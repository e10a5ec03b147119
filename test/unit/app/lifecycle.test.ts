import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from '../../../src/app/app';
import { ErrorCode, M2PoolError } from '../../../src/errors';

describe('start and stop hooks', () => {
  it('runs start hooks in order and once, stop hooks in reverse order and once', async () => {
    const log: string[] = [];
    const app = new App()
      .onStart(async () => {
        await new Promise((resolve) => setImmediate(resolve));
        log.push('start db');
      })
      .onStart(() => void log.push('start cache'))
      .onStop(() => void log.push('stop db'))
      .onStop(async () => {
        await new Promise((resolve) => setImmediate(resolve));
        log.push('stop cache');
      });
    await Promise.all([app.start(), app.start()]);
    await app.stop();
    await app.stop();
    assert.deepEqual(log, ['start db', 'start cache', 'stop cache', 'stop db']);
  });

  it('rejects with APP_HOOK when a start hook throws, and does not run the later ones', async () => {
    let later = false;
    const app = new App()
      .onStart(function openPool() {
        throw new Error('ECONNREFUSED');
      })
      .onStart(() => {
        later = true;
      });
    await assert.rejects(app.start(), (err: unknown) => err instanceof M2PoolError && err.code === ErrorCode.APP_HOOK && /openPool.*ECONNREFUSED/.test(err.message));
    assert.equal(later, false);
  });

  it('rejects at the deadline and aborts the hook signal', async () => {
    let reason: unknown;
    const app = new App({ startTimeoutMs: 20 }).onStart((signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => {
      reason = signal.reason;
      resolve();
    })));
    await assert.rejects(app.start(), /start hooks did not finish within 20 ms/);
    assert.ok(reason instanceof M2PoolError);
  });

  it('runs every stop hook even when one fails, then rejects naming it', async () => {
    const ran: string[] = [];
    const app = new App()
      .onStop(() => void ran.push('first registered'))
      .onStop(function closeQueue() {
        ran.push('second registered');
        throw new Error('already closed');
      });
    await assert.rejects(app.stop(), /closeQueue\): already closed/);
    assert.deepEqual(ran, ['second registered', 'first registered']);
  });

  it('app.request() does not start the app', async () => {
    let started = false;
    const app = new App().onStart(() => {
      started = true;
    }).get('/', () => 'ok');
    assert.equal((await app.request('/')).text(), 'ok');
    assert.equal(started, false);
  });

  it('refuses hooks that are not functions and a bad timeout', () => {
    assert.throws(() => new App().onStart(1 as unknown as () => void), TypeError);
    assert.throws(() => new App({ stopTimeoutMs: 0 }), /stopTimeoutMs/);
  });
});
