import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App } from '../../../src/app/app';
import { Cancellation, onAbort } from '../../../src/app/cancellation';
import { buildRawMessage, CollectingSink } from '../../../src/app/testing/testing';

test('a cancellation calls its listeners once, with the reason, and ignores later aborts', () => {
  const c = new Cancellation();
  const seen: unknown[] = [];
  c.onAbort((r) => seen.push(['a', r]));
  const off = c.onAbort((r) => seen.push(['b', r]));
  off();
  assert.equal(c.aborted, false);
  c.abort('first');
  c.abort('second');
  assert.deepEqual(seen, [['a', 'first']]);
  assert.equal(c.reason, 'first');
  // A listener added after the fact runs at once.
  const late: unknown[] = [];
  c.onAbort((r) => late.push(r));
  assert.deepEqual(late, ['first']);
});

test('its AbortSignal mirrors it whether made before or after the abort', () => {
  const before = new Cancellation();
  const signal = before.signal;
  assert.equal(signal.aborted, false);
  before.abort('gone');
  assert.deepEqual([signal.aborted, signal.reason], [true, 'gone']);

  const after = new Cancellation();
  after.abort('gone too');
  assert.deepEqual([after.signal.aborted, after.signal.reason], [true, 'gone too']);
});

test('onAbort accepts a standard AbortSignal too, and unsubscribes from it', () => {
  const controller = new AbortController();
  const seen: unknown[] = [];
  const off = onAbort(controller.signal, (r) => seen.push(r));
  off();
  onAbort(controller.signal, (r) => seen.push(['kept', r]));
  controller.abort('why');
  assert.deepEqual(seen, [['kept', 'why']]);
});

test('dispatch with a cancellation: the handler signal fires with its reason, and the request ends aborted', async () => {
  const app = new App();
  let handlerSignal: AbortSignal | undefined;
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  app.get('/wait', async (ctx) => {
    handlerSignal = ctx.signal;
    entered();
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    return 'late';
  });
  const cancellation = new Cancellation();
  const sink = new CollectingSink();
  const result = app.dispatch(buildRawMessage('/wait'), sink, { cancellation });
  await inHandler;
  cancellation.abort(new Error('client disconnected'));
  assert.equal((await result).outcome, 'aborted');
  assert.equal((handlerSignal?.reason as Error).message, 'client disconnected');
  assert.equal(sink.writes.length, 0, 'nothing sent after the abort');
});
