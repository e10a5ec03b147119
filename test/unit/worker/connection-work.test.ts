import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cancellation } from '../../../src/app/cancellation';
import { ConnectionWork } from '../../../src/worker/connection-work';

test('a disconnect aborts every entry of its connection, only those, and says how many', () => {
  const work = new ConnectionWork();
  const [a1, a2, b1] = [new Cancellation(), new Cancellation(), new Cancellation()];
  work.add('a', a1, 1);
  work.add('a', a2, 2);
  work.add('b', b1, 3);
  const reason = new Error('client disconnected');
  assert.equal(work.abort('a', reason), 2);
  assert.equal(a1.reason, reason);
  assert.equal(a2.reason, reason);
  assert.equal(b1.aborted, false);
  assert.equal(work.abort('nobody', reason), 0);
});

test('removing entries in any order leaves the others in place and forgets an empty connection', () => {
  const work = new ConnectionWork();
  const [first, middle, last] = [new Cancellation(), new Cancellation(), new Cancellation()];
  work.add('c', first, 1);
  work.add('c', middle, 2);
  work.add('c', last, 3);
  work.remove('c', middle);
  assert.deepEqual(work.startedBy(10), ['c']);
  work.remove('c', last);
  work.remove('c', new Cancellation());
  assert.equal(work.size, 1);
  assert.equal(work.abort('c', 'x'), 1);
  assert.equal(first.aborted, true);
  work.remove('c', first);
  assert.equal(work.size, 0);
});

test('startedBy reports each connection with an entry at least that old, once; abortAll gives each entry its own reason', () => {
  const work = new ConnectionWork();
  const entries = [new Cancellation(), new Cancellation(), new Cancellation()];
  work.add('old', entries[0]!, 5);
  work.add('old', entries[1]!, 1);
  work.add('new', entries[2]!, 50);
  assert.deepEqual(work.startedBy(10), ['old']);
  assert.deepEqual(work.startedBy(100).sort(), ['new', 'old']);
  work.abortAll(() => new Error('stopping'));
  assert.ok(entries.every((c) => c.aborted));
  assert.notEqual(entries[0]!.reason, entries[1]!.reason);
});
