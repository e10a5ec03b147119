import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReplySink } from '../../../src/http/sink';
import { OrderedReplies } from '../../../src/worker/ordered-replies';

/** Every promise callback queued so far has run (a turn of the event loop, not a timed wait). */
const drained = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A writer that records what reaches the connection, and a settle hook that records completions. */
function recorder(log: string[], name: string): { writer: ReplySink; settled: { done(): void } } {
  return {
    writer: {
      write: (data: Buffer) => {
        log.push(`${name}:${data.toString()}`);
        return Promise.resolve();
      },
      close: () => {
        log.push(`${name}:close`);
        return Promise.resolve();
      },
    } as ReplySink,
    settled: { done: () => log.push(`${name}:done`) },
  };
}

test('replies of one connection reach it in request order, whatever order the requests finish in', async () => {
  const order = new OrderedReplies();
  const log: string[] = [];
  const [a, b, c] = ['a', 'b', 'c'].map((n) => recorder(log, n));
  const sa = order.open('k', a!.writer, a!.settled);
  const sb = order.open('k', b!.writer, b!.settled);
  const sc = order.open('k', c!.writer, c!.settled);
  await sc.write(Buffer.from('3'));
  await sc.close();
  sc.finish();
  await sb.write(Buffer.from('2'));
  await sa.write(Buffer.from('1'));
  assert.deepEqual(log, ['a:1'], 'only the head writes through; later requests are buffered');
  sa.finish();
  await drained();
  assert.deepEqual(log, ['a:1', 'a:done', 'b:2']);
  sb.finish();
  await drained();
  assert.deepEqual(log, ['a:1', 'a:done', 'b:2', 'b:done', 'c:3', 'c:close', 'c:done']);
  assert.equal(order.size, 0, 'a connection with nothing unfinished is forgotten');
});

test('connections are independent, a finish is idempotent, and a reopened connection starts a new queue', () => {
  const order = new OrderedReplies();
  const log: string[] = [];
  const [x, y, z] = ['x', 'y', 'z'].map((n) => recorder(log, n));
  const sx = order.open('one', x!.writer, x!.settled);
  const sy = order.open('two', y!.writer, y!.settled);
  assert.equal(order.size, 2);
  sy.finish();
  sy.finish();
  sx.finish();
  assert.deepEqual(log, ['y:done', 'x:done'], 'a request that wrote nothing is settled at once');
  const sz = order.open('one', z!.writer, z!.settled);
  void sz.write(Buffer.from('now'));
  assert.deepEqual(log.slice(2), ['z:now']);
});

test('a request is settled only once the writer handed over every write it made, buffered ones included (#18)', async () => {
  // The writer holds each write back (as the WebSocket reply coalescer does) until the test releases it.
  const order = new OrderedReplies();
  const log: string[] = [];
  const pending: Array<{ what: string; release: () => void; fail: (err: Error) => void }> = [];
  const holding = (name: string): ReplySink =>
    ({
      write: (data: Buffer) =>
        new Promise<void>((resolve, reject) => pending.push({ what: `${name}:${data.toString()}`, release: resolve, fail: reject })),
      close: () => new Promise<void>((resolve, reject) => pending.push({ what: `${name}:close`, release: resolve, fail: reject })),
    }) as ReplySink;
  const settled = (name: string): { done(): void } => ({ done: () => log.push(`${name}:done`) });
  const first = order.open('ws', holding('first'), settled('first'));
  const second = order.open('ws', holding('second'), settled('second'));
  void second.write(Buffer.from('echo-2'));
  second.finish(); // finished while buffered behind `first`
  const write1 = first.write(Buffer.from('echo-1'));
  first.finish();
  await drained();
  assert.deepEqual(pending.map((p) => p.what), ['first:echo-1', 'second:echo-2'], 'both handed to their writers, in order');
  assert.deepEqual(log, [], 'neither is settled while its write is held');
  pending[1]?.release();
  await drained();
  assert.deepEqual(log, ['second:done'], 'the second settles once its own write was handed over');
  pending[0]?.fail(new Error('link closed'));
  await write1.catch(() => undefined);
  await drained();
  assert.deepEqual(log, ['second:done', 'first:done'], 'a failed write settles too: the request is over either way');
  assert.equal(order.size, 0);
});
