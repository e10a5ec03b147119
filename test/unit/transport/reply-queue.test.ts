import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode } from '../../../src/errors';
import { ReplyQueue, type Writability } from '../../../src/transport/reply-queue';

const eagain = (): Error => Object.assign(new Error('Operation was not possible or timed out'), { code: 'EAGAIN' });

/** A fake socket: `refuse` answers the next sends with these errors (in order), then it takes frames. */
function fakeSocket(refuse: Array<() => Error> = []) {
  const taken: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = async (frame: Buffer): Promise<void> => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await Promise.resolve();
      const refusal = refuse.shift();
      if (refusal !== undefined) throw refusal();
      taken.push(frame.toString());
    } finally {
      inFlight -= 1;
    }
  };
  return { send, taken, maxInFlight: () => maxInFlight };
}

/** Writability we control. */
function gate(open: boolean) {
  let isOpen = open;
  const waiters: Array<() => void> = [];
  const writable: Writability = {
    now: () => isOpen,
    wait: (timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not writable after ${timeoutMs} ms`)), timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
  return {
    writable,
    open: () => {
      isOpen = true;
      for (const wake of waiters.splice(0)) wake();
    },
  };
}

const frames = (...names: string[]): Buffer[] => names.map((n) => Buffer.from(n));

test('frames reach the socket in order, one send at a time, and drained() waits for all of them', async () => {
  const socket = fakeSocket();
  const queue = new ReplyQueue(socket.send, gate(true).writable, 1_000);
  const results = frames('a', 'b', 'c', 'd').map((f) => queue.enqueue(f));
  assert.equal(queue.pending, 4);
  assert.deepEqual(socket.taken, [], 'a batch goes out once the current work is done');
  await queue.drained();
  await Promise.all(results);
  assert.deepEqual(socket.taken, ['a', 'b', 'c', 'd']);
  assert.equal(socket.maxInFlight(), 1, 'zeromq.js allows one pending send per socket');
  assert.equal(queue.pending, 0);
});

test('a frame the socket refuses with EAGAIN is retried until taken, and later frames wait behind it', async () => {
  const socket = fakeSocket([eagain, eagain, eagain]);
  const queue = new ReplyQueue(socket.send, gate(true).writable, 5_000);
  await Promise.all(frames('first', 'second').map((f) => queue.enqueue(f)));
  assert.deepEqual(socket.taken, ['first', 'second']);
});

test('a frame still refused at the send timeout is rejected as SEND_FAILED, never dropped silently', async () => {
  const socket = fakeSocket(Array.from({ length: 1_000 }, () => eagain));
  const queue = new ReplyQueue(socket.send, gate(true).writable, 30);
  await assert.rejects(queue.enqueue(Buffer.from('x')), (err: Error & { code?: string; cause?: unknown }) => {
    assert.equal(err.code, ErrorCode.SEND_FAILED);
    assert.match(err.message, /reply not sent after \d+ attempts/);
    assert.equal((err.cause as { code?: string }).code, 'EAGAIN');
    return true;
  });
});

test('any other send error fails that frame at once; the next frame still goes out', async () => {
  const socket = fakeSocket([() => new Error('socket closed')]);
  const queue = new ReplyQueue(socket.send, gate(true).writable, 5_000);
  const [bad, good] = frames('bad', 'good').map((f) => queue.enqueue(f));
  await assert.rejects(bad!, /reply not sent after 1 attempts/);
  await good;
  assert.deepEqual(socket.taken, ['good']);
});

test('a synchronous throw from the socket becomes a rejection, not an exception out of enqueue', async () => {
  const queue = new ReplyQueue(
    () => {
      throw new Error('Socket is closed');
    },
    gate(true).writable,
    1_000,
  );
  let result: Promise<void> | undefined;
  assert.doesNotThrow(() => (result = queue.enqueue(Buffer.from('x'))));
  await assert.rejects(result!, (err: Error & { code?: string }) => err.code === ErrorCode.SEND_FAILED);
});

test('while the peer is not writable (not subscribed) frames wait, then go out in order once it is', async () => {
  const socket = fakeSocket();
  const peer = gate(false);
  const queue = new ReplyQueue(socket.send, peer.writable, 5_000);
  const results = frames('a', 'b').map((f) => queue.enqueue(f));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(socket.taken, [], 'nothing is published before the peer can take it');
  peer.open();
  await Promise.all(results);
  assert.deepEqual(socket.taken, ['a', 'b']);
});

test('a peer that never becomes writable fails the frame after the send timeout', async () => {
  const socket = fakeSocket();
  const queue = new ReplyQueue(socket.send, gate(false).writable, 20);
  await assert.rejects(queue.enqueue(Buffer.from('x')), /not writable after \d+ ms/);
  assert.deepEqual(socket.taken, []);
  assert.equal(queue.pending, 0);
});

test('post() queues in the same order as enqueue() and reports only a frame that failed, to its own callback', async () => {
  const socket = fakeSocket([() => new Error('socket closed')]);
  const queue = new ReplyQueue(socket.send, gate(true).writable, 5_000);
  const failures: string[] = [];
  queue.post(Buffer.from('bad'), (err) => failures.push(`bad: ${(err as Error).message}`));
  const middle = queue.enqueue(Buffer.from('middle'));
  queue.post(Buffer.from('good'), (err) => failures.push(`good: ${(err as Error).message}`));
  await middle;
  await queue.drained();
  assert.deepEqual(socket.taken, ['middle', 'good']);
  assert.deepEqual(failures, ['bad: reply not sent after 1 attempts']);
  assert.equal(queue.pending, 0);
});
