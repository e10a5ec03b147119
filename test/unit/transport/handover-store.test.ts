/** The bounded store of replies a worker keeps for a vanished dispatcher's successor. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tag } from '../../../src/transport/dispatch-wire';
import { HandoverStore } from '../../../src/transport/handover-store';

const frame = (n: number): Buffer => Buffer.alloc(n, 0x61);

test('keeps replies in order and hands them over once', () => {
  const store = new HandoverStore({ maxEntries: 10, maxBytes: 100, maxAgeMs: 1_000 });
  assert.equal(store.keepReply(1, 0, frame(10), 'a', 0), true);
  store.keepMark(Tag.ENDED, 1, 0, undefined, 'a', 1);
  assert.equal(store.keepReply(2, 0, frame(10), 'a', 2), true);
  assert.deepEqual(store.take(3).map((e) => [e.tag, e.id]), [[Tag.REPLY, 1], [Tag.ENDED, 1], [Tag.REPLY, 2]]);
  assert.deepEqual(store.take(4), []);
  assert.equal(store.dropped, 0);
});

test('refuses (and counts) a reply past the entry or byte bound', () => {
  const store = new HandoverStore({ maxEntries: 2, maxBytes: 25, maxAgeMs: 1_000 });
  assert.equal(store.keepReply(1, 0, frame(10), 'a', 0), true);
  assert.equal(store.keepReply(2, 0, frame(20), 'a', 0), false, 'bytes');
  assert.equal(store.keepReply(3, 0, frame(10), 'a', 0), true);
  assert.equal(store.keepReply(4, 0, frame(1), 'a', 0), false, 'entries');
  assert.equal(store.dropped, 2);
  assert.deepEqual(store.take(0).map((e) => e.id), [1, 3]);
});

test('an aged-out reply goes with every later frame of its request: never half a reply', () => {
  const store = new HandoverStore({ maxEntries: 10, maxBytes: 100, maxAgeMs: 100 });
  store.keepReply(1, 0, frame(1), 'a', 0);
  store.keepReply(2, 0, frame(1), 'a', 50);
  store.keepReply(3, 0, frame(1), 'a', 60);
  store.keepReply(3, 0, frame(1), 'a', 80);
  // At 120 the first frame of request 1 has aged out: a later frame of it is refused.
  assert.equal(store.keepReply(1, 0, frame(1), 'a', 120), false);
  assert.equal(store.dropped, 2);
  // At 165 request 3's first frame ages out, and its second (not yet aged) goes with it; 2 aged out too.
  assert.deepEqual(store.take(165), []);
  assert.equal(store.dropped, 5);
});

test('forget(instance) drops what belongs to a dispatcher that said GOODBYE', () => {
  const store = new HandoverStore({ maxEntries: 10, maxBytes: 100, maxAgeMs: 1_000 });
  store.keepReply(1, 0, frame(10), 'a', 0);
  store.keepReply(2, 0, frame(10), 'b', 0);
  store.forget('a');
  assert.equal(store.size, 1);
  assert.equal(store.keepReply(3, 0, frame(90), 'b', 0), true, 'the forgotten bytes are free again');
  assert.deepEqual(store.take(0).map((e) => e.id), [2, 3]);
});

test('a kept reply is a copy: the app may reuse its buffer', () => {
  const store = new HandoverStore();
  const buf = Buffer.from('reply');
  store.keepReply(1, 0, buf, 'a', 0);
  buf.fill(0);
  assert.equal(store.take(0)[0]?.payload?.toString(), 'reply');
});
