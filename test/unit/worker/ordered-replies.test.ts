import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReplySink } from '../../../src/http/sink';
import { OrderedReplies } from '../../../src/worker/ordered-replies';

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
  assert.deepEqual(log, ['a:1', 'a:done', 'b:2']);
  sb.finish();
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
  assert.deepEqual(log, ['y:done', 'x:done']);
  const sz = order.open('one', z!.writer, z!.settled);
  void sz.write(Buffer.from('now'));
  assert.deepEqual(log.slice(2), ['z:now']);
});
