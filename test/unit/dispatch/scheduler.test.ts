/**
 * The dispatcher's scheduler without sockets: a recording effects object and a hand-driven clock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RetryHint, Scheduler, type FailureAction, type PendingRequest, type SchedulerEffects, type WorkerEntry } from '../../../src/dispatch/scheduler';
import type { FailureReason } from '../../../src/dispatch/stats';
import { encodeClose, encodeCtl, encodeReply } from '../../../src/protocol/reply-writer';

const SENDER = '34f9ceee-cd52-4b7f-b197-88bf2f0ec378';

/** A Mongrel2 request (tnetstring headers). */
function request(connId: number, method = 'GET', path = '/x'): Buffer {
  const headers = `6:METHOD,${method.length}:${method},4:PATH,${path.length}:${path},`;
  return Buffer.from(`${SENDER} ${connId} ${path} ${headers.length}:${headers}}0:,`);
}

/** A worker's reply frame to `connIds` of `sender`. */
function replyTo(connIds: number | number[], body: string, sender = SENDER): Buffer {
  return encodeReply(sender, typeof connIds === 'number' ? [connIds] : connIds, body)[0]!;
}

/** Mongrel2's disconnect notice (JSON headers). */
function disconnect(connId: number): Buffer {
  return Buffer.from(`${SENDER} ${connId} @* 17:{"METHOD":"JSON"},21:{"type":"disconnect"},`);
}

interface Sent {
  readonly worker: string;
  readonly req: PendingRequest;
}

class Recorder implements SchedulerEffects {
  readonly sent: Sent[] = [];
  readonly notices: Array<{ worker: string; frame: Buffer }> = [];
  readonly replies: Buffer[] = [];
  readonly failures: Array<{ connId: string; action: FailureAction; reason: FailureReason }> = [];
  readonly lost: string[] = [];
  readonly misaddressedLog: Array<{ worker: string; connId: string }> = [];
  request(worker: WorkerEntry, req: PendingRequest): void {
    this.sent.push({ worker: worker.key, req });
  }
  notice(worker: WorkerEntry, _server: number, frame: Buffer): void {
    this.notices.push({ worker: worker.key, frame });
  }
  reply(_server: number, frame: Buffer): void {
    this.replies.push(frame);
  }
  fail(req: PendingRequest, action: FailureAction, reason: FailureReason): void {
    this.failures.push({ connId: req.connectionId.split(' ')[1] ?? '', action, reason });
  }
  workerLost(worker: WorkerEntry): void {
    this.lost.push(worker.key);
  }
  misaddressed(worker: WorkerEntry, req: PendingRequest): void {
    this.misaddressedLog.push({ worker: worker.key, connId: req.connectionId.split(' ')[1] ?? '' });
  }
  /** Requests sent to `worker`, as connection ids. */
  to(worker: string): string[] {
    return this.sent.filter((s) => s.worker === worker).map((s) => s.req.connectionId.split(' ')[1] ?? '');
  }
}

interface SetupOptions {
  readonly queueLimit?: number;
  readonly backlogLimit?: number;
  readonly queueTimeoutMs?: number;
  readonly maxCredit?: number;
  readonly requestTimeoutMs?: number;
}

function setup(options: SetupOptions = {}) {
  let now = 0;
  const effects = new Recorder();
  const queueLimit = options.queueLimit ?? 100;
  const scheduler = new Scheduler(
    {
      queueLimit,
      backlogLimit: options.backlogLimit ?? queueLimit * 4,
      queueTimeoutMs: options.queueTimeoutMs ?? 1_000,
      maxCredit: options.maxCredit ?? 1_024,
      requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
      heartbeatTimeoutMs: 3_000,
      now: () => now,
    },
    effects,
  );
  const worker = (key: string, capacity: number, inFlight = 0): WorkerEntry => scheduler.hello(key, Buffer.from(key), capacity, inFlight, key);
  return { scheduler, effects, worker, advance: (ms: number) => (now += ms) };
}

describe('scheduler: placement', () => {
  test('a request goes to the worker with the most free credit', () => {
    const { scheduler, effects, worker } = setup();
    worker('a', 2);
    worker('b', 4);
    scheduler.arrive(0, request(1));
    scheduler.arrive(0, request(2));
    scheduler.arrive(0, request(3));
    // b: 4 free, 3 free, then a and b both have 2: the one idle longest (a) wins.
    assert.deepEqual(effects.sent.map((s) => s.worker), ['b', 'b', 'a']);
    assert.equal(scheduler.creditInUse, 3);
    assert.equal(scheduler.creditCapacity, 6);
  });

  test('ties of free credit go to the worker idle longest, so a light load reaches every worker (a new one too)', () => {
    const { scheduler, effects, worker } = setup();
    const a = worker('a', 4);
    const b = worker('b', 4);
    for (let i = 1; i <= 6; i++) {
      scheduler.arrive(0, request(i));
      const last = effects.sent.at(-1)!;
      scheduler.done(last.worker === 'a' ? a : b, last.req.id);
    }
    assert.deepEqual(effects.sent.map((s) => s.worker), ['a', 'b', 'a', 'b', 'a', 'b']);
  });

  test('while a connection has a request in flight at W, its next requests go to W, even beyond its credit', () => {
    const { scheduler, effects, worker } = setup();
    worker('a', 1);
    worker('b', 5);
    scheduler.arrive(0, request(7));
    scheduler.arrive(0, request(7));
    scheduler.arrive(0, request(7));
    assert.deepEqual(effects.to('b'), ['7', '7', '7']);
    // Once its requests are done, the connection is free to go elsewhere.
    const b = scheduler.worker('b')!;
    for (const s of [...effects.sent]) scheduler.done(b, s.req.id);
    worker('c', 50);
    scheduler.arrive(0, request(7));
    assert.deepEqual(effects.to('c'), ['7']);
  });

  test('no credit: requests queue in FIFO order and go out as credit comes back; the queue wait is measured', () => {
    const { scheduler, effects, worker, advance } = setup();
    const a = worker('a', 1);
    scheduler.arrive(0, request(1));
    scheduler.arrive(0, request(2));
    scheduler.arrive(0, request(3));
    assert.equal(scheduler.queueDepth, 2);
    advance(40);
    scheduler.done(a, effects.sent[0]!.req.id);
    assert.deepEqual(effects.to('a'), ['1', '2']);
    scheduler.done(a, effects.sent[1]!.req.id);
    assert.deepEqual(effects.to('a'), ['1', '2', '3']);
    assert.equal(scheduler.queueDepth, 0);
    assert.equal(scheduler.stats.queueWaitCount, 3);
    assert.ok(Math.abs(scheduler.stats.queueWaitSum - 0.08) < 1e-9, `waits add up to 2 × 40 ms, got ${scheduler.stats.queueWaitSum}`);
  });

  test('past the queue limit a new request is answered 503 at once (queue-full), and reading goes on', () => {
    const { scheduler, effects, worker } = setup({ queueLimit: 2 });
    const a = worker('a', 1);
    scheduler.arrive(0, request(1));
    scheduler.arrive(0, request(2));
    scheduler.arrive(0, request(3));
    assert.equal(scheduler.queueDepth, 2);
    assert.deepEqual(effects.failures, []);
    scheduler.arrive(0, request(4));
    scheduler.arrive(0, request(5, 'WEBSOCKET'));
    assert.deepEqual(effects.failures, [
      { connId: '4', action: 'error', reason: 'queue-full' },
      { connId: '5', action: 'close', reason: 'queue-full' },
    ]);
    assert.equal(scheduler.accepting, true, 'overload is answered, not left unread in Mongrel2');
    assert.equal(scheduler.pending, 3, 'a shed request is forgotten');
    scheduler.done(a, effects.sent[0]!.req.id);
    assert.deepEqual(effects.to('a'), ['1', '2'], 'the queue keeps its order');
    scheduler.arrive(0, request(6));
    assert.equal(scheduler.queueDepth, 2, 'room again: queued');
  });

  test('a connection with requests queued is not shed (a 503 would overtake them); the backlog limit stops reading', () => {
    const { scheduler, effects, worker } = setup({ queueLimit: 2, backlogLimit: 4 });
    worker('a', 1);
    scheduler.arrive(0, request(1));
    scheduler.arrive(0, request(2));
    scheduler.arrive(0, request(3));
    // Pipelined requests of connection 3, whose first request is queued: queued behind it, past the queue limit.
    scheduler.arrive(0, request(3));
    assert.deepEqual(effects.failures, []);
    assert.equal(scheduler.queueDepth, 3);
    assert.equal(scheduler.accepting, true);
    scheduler.arrive(0, request(3));
    assert.equal(scheduler.queueDepth, 4);
    assert.equal(scheduler.accepting, false, 'at the backlog limit the dispatcher stops reading: the memory bound');
  });

  test('queued requests past the queue timeout get a 503 (queue-timeout); younger ones stay', () => {
    const { scheduler, effects, worker, advance } = setup({ queueTimeoutMs: 1_000 });
    worker('a', 1);
    scheduler.arrive(0, request(1));
    scheduler.arrive(0, request(2));
    advance(600);
    scheduler.arrive(0, request(3));
    advance(500);
    scheduler.expire();
    assert.deepEqual(effects.failures, [{ connId: '2', action: 'error', reason: 'queue-timeout' }]);
    assert.equal(scheduler.queueDepth, 1);
  });

  test('a leaving worker gets no new request; a connection it holds waits for it, then moves on in order', () => {
    const { scheduler, effects, worker } = setup();
    const a = worker('a', 5);
    scheduler.arrive(0, request(1));
    scheduler.leave(a);
    worker('b', 5);
    scheduler.arrive(0, request(2));
    scheduler.arrive(0, request(1)); // same connection as the one at a: parked
    scheduler.arrive(0, request(1));
    assert.deepEqual(effects.to('a'), ['1']);
    assert.deepEqual(effects.to('b'), ['2']);
    scheduler.done(a, effects.sent[0]!.req.id);
    assert.deepEqual(effects.to('b'), ['2', '1', '1']);
    assert.equal(scheduler.creditCapacity, 5);
  });
});

describe('scheduler: lost workers', () => {
  test('GETs whose reply had not started are retried once at the front; POSTs get 503; a started reply gets a close', () => {
    const { scheduler, effects, worker } = setup();
    const a = worker('a', 10);
    scheduler.arrive(0, request(1, 'GET'));
    scheduler.arrive(0, request(2, 'POST'));
    scheduler.arrive(0, request(3, 'GET'));
    scheduler.reply(a, effects.sent[2]!.req.id, replyTo(3, 'partial'));
    assert.equal(effects.replies.length, 1);
    worker('b', 10);
    scheduler.lost(a, 'disconnected');
    assert.deepEqual(effects.to('b'), ['1']);
    assert.deepEqual(effects.failures.map((f) => [f.connId, f.action, f.reason]), [
      ['2', 'error', 'worker-lost'],
      ['3', 'close', 'reply-cut'],
    ]);
    assert.equal(scheduler.stats.retries, 1);
    // The retried request dies with its second worker too: this time it is answered, not retried again.
    scheduler.lost(scheduler.worker('b')!, 'heartbeat-timeout');
    assert.deepEqual(effects.failures.at(-1), { connId: '1', action: 'error', reason: 'worker-lost' });
    assert.equal(scheduler.pending, 0);
  });

  test('retry hints from the worker override the method rule', () => {
    const { scheduler, effects, worker } = setup();
    const a = worker('a', 10);
    scheduler.arrive(0, request(1, 'POST'));
    scheduler.arrive(0, request(2, 'GET'));
    scheduler.retryHint(a, effects.sent[0]!.req.id, RetryHint.YES);
    scheduler.retryHint(a, effects.sent[1]!.req.id, RetryHint.NO);
    worker('b', 10);
    scheduler.lost(a, 'disconnected');
    assert.deepEqual(effects.to('b'), ['1']);
    assert.deepEqual(effects.failures.map((f) => f.connId), ['2']);
  });

  test('the retry budget is max(3, 20% of the in-flight requests) per lost worker', () => {
    const { scheduler, effects, worker } = setup();
    const a = worker('a', 100);
    for (let i = 1; i <= 20; i += 1) scheduler.arrive(0, request(i));
    worker('b', 100);
    scheduler.lost(a, 'disconnected');
    assert.equal(effects.to('b').length, 4); // 20% of 20
    assert.equal(effects.failures.filter((f) => f.reason === 'retry-budget').length, 16);

    const small = setup();
    const c = small.worker('c', 100);
    for (let i = 1; i <= 5; i += 1) small.scheduler.arrive(0, request(i));
    small.worker('d', 100);
    small.scheduler.lost(c, 'disconnected');
    assert.equal(small.effects.to('d').length, 3); // the floor
  });

  test('a hung worker that resumes cannot double-answer: its late replies are dropped and counted', () => {
    const { scheduler, effects, worker, advance } = setup();
    worker('a', 10);
    scheduler.arrive(0, request(1, 'GET'));
    scheduler.arrive(0, request(2, 'POST'));
    const [get, post] = effects.sent.map((s) => s.req.id);
    const b = worker('b', 10);
    advance(2_000);
    scheduler.touch('b');
    advance(1_500);
    scheduler.checkLiveness(); // a was silent for 3.5 s, b for 1.5 s
    assert.deepEqual(effects.lost, ['a']);
    assert.deepEqual(effects.to('b'), ['1']);
    assert.equal(effects.failures.length, 1);
    // a resumes (same routing id, registers again) and answers both: neither reply reaches Mongrel2.
    const again = worker('a', 10, 2);
    scheduler.reply(again, get!, replyTo(1, 'late GET reply'));
    scheduler.reply(again, post!, replyTo(2, 'late POST reply'));
    assert.equal(effects.replies.length, 0);
    assert.equal(scheduler.stats.lateReplies, 2);
    // Its DONEs give back the credit its HELLO said was still in use, not b's request.
    assert.equal(again.used, 2);
    scheduler.done(again, get!);
    scheduler.done(again, post!);
    assert.equal(again.used, 0);
    assert.equal(b.used, 1);
    // b's reply for the retried GET is the one that goes out.
    scheduler.reply(b, get!, replyTo(1, 'GET reply'));
    assert.deepEqual(effects.replies, [replyTo(1, 'GET reply')]);
  });

  test('a reply after DONE, or for an unknown id, is dropped', () => {
    const { scheduler, effects, worker } = setup();
    const a = worker('a', 10);
    scheduler.arrive(0, request(1));
    const id = effects.sent[0]!.req.id;
    scheduler.done(a, id);
    scheduler.reply(a, id, replyTo(1, 'after done'));
    scheduler.reply(a, id + 1000, replyTo(1, 'never sent'));
    assert.equal(effects.replies.length, 0);
    assert.equal(scheduler.stats.lateReplies, 2);
  });
});

describe('scheduler: what a worker may do (#18 item 4)', () => {
  test('a reply goes out only to the connection of the request it answers; anything else is dropped and counted', () => {
    const { scheduler, effects, worker } = setup();
    const a = worker('a', 10);
    scheduler.arrive(0, request(7, 'WEBSOCKET'));
    scheduler.arrive(0, request(8));
    const id = effects.sent[0]!.req.id;
    const own = [
      replyTo(7, 'frame one'),
      replyTo(7, 'frame two'), // several frames of one request (WebSocket frames, body chunks)
      encodeCtl(SENDER, [7], { 'keep-alive': null })[0]!, // an X control reply to its own connection
      encodeClose(SENDER, [7])[0]!, // the close message
    ];
    for (const frame of own) scheduler.reply(a, id, frame);
    assert.deepEqual(effects.replies, own);
    const misaddressed = [
      replyTo(8, 'to the other request of this worker'),
      replyTo(9, 'to a connection nobody gave it'),
      replyTo([7, 8], 'to its own and another'),
      replyTo([8, 7], 'to another and its own'),
      replyTo(7, 'right id, other server', 'aaaaaaaa-cd52-4b7f-b197-88bf2f0ec378'),
      Buffer.from(`${SENDER} 3:7 7, trailing id`),
      Buffer.from(`${SENDER} 2:07, leading zero`),
      Buffer.from(`${SENDER} 1:7,no space`),
      Buffer.from(`${SENDER} 1:7`),
      Buffer.from('garbage'),
      Buffer.alloc(0),
    ];
    for (const frame of misaddressed) scheduler.reply(a, id, frame);
    assert.equal(effects.replies.length, own.length, 'none of them reached Mongrel2');
    assert.deepEqual(Object.fromEntries(scheduler.stats.misaddressed), { a: misaddressed.length });
    assert.deepEqual(effects.misaddressedLog[0], { worker: 'a', connId: '7' });
    assert.equal(scheduler.stats.lateReplies, 0);
    // The request itself is untouched: its worker still holds it and its DONE ends it normally.
    scheduler.done(a, id);
    assert.equal(scheduler.pending, 1);
    assert.deepEqual(effects.failures, []);
  });

  test('a HELLO claiming more than the maximum credit is clamped and counted; requests spread to other workers', () => {
    const { scheduler, effects, worker } = setup({ maxCredit: 8 });
    const greedy = worker('greedy', 1e12);
    assert.equal(greedy.capacity, 8);
    assert.equal(scheduler.stats.creditClamped, 1);
    worker('honest', 4);
    assert.equal(scheduler.stats.creditClamped, 1, 'a claim within the maximum is not counted');
    for (let i = 1; i <= 12; i++) scheduler.arrive(0, request(i));
    assert.equal(effects.to('greedy').length, 8);
    assert.equal(effects.to('honest').length, 4);
    assert.equal(scheduler.creditCapacity, 12);
    worker('greedy', 1e12); // a repeated HELLO is clamped as well
    assert.equal(greedy.capacity, 8);
  });

  test('a request at a worker past the request timeout gets 504 (a close for WebSocket); its late reply is dropped', () => {
    const { scheduler, effects, worker, advance } = setup({ requestTimeoutMs: 5_000 });
    const silent = worker('silent', 3);
    scheduler.arrive(0, request(1));
    scheduler.arrive(0, request(2, 'WEBSOCKET'));
    const [httpId, wsId] = effects.sent.map((s) => s.req.id);
    advance(4_999);
    scheduler.expire();
    assert.deepEqual(effects.failures, []);
    advance(1);
    scheduler.expire();
    assert.deepEqual(effects.failures, [
      { connId: '1', action: 'timeout', reason: 'request-timeout' },
      { connId: '2', action: 'close', reason: 'request-timeout' },
    ]);
    scheduler.reply(silent, httpId!, replyTo(1, 'too late'));
    assert.equal(effects.replies.length, 0);
    assert.equal(scheduler.stats.lateReplies, 1);
    assert.equal(scheduler.pending, 0);
    // The worker's credit for them stays in use until its DONE: a peer that never answers runs dry.
    assert.equal(silent.used, 2);
    assert.equal(silent.free, 1);
    scheduler.arrive(0, request(3));
    scheduler.arrive(0, request(4));
    assert.deepEqual(effects.to('silent'), ['1', '2', '3']);
    assert.equal(scheduler.queueDepth, 1, 'no credit left: the next request waits for another worker');
    const other = worker('other', 1);
    assert.deepEqual(effects.to('other'), ['4']);
    scheduler.done(silent, wsId!);
    assert.equal(silent.used, 2, 'a DONE gives the credit of a timed-out request back');
    scheduler.done(silent, wsId!);
    assert.equal(silent.used, 2, 'only once');
    assert.equal(other.used, 1);
  });

  test('each reply frame pushes the deadline back (a stream that flows is not cut); a started reply is closed, not 504', () => {
    const { scheduler, effects, worker, advance } = setup({ requestTimeoutMs: 1_000 });
    const a = worker('a', 1);
    scheduler.arrive(0, request(1));
    const id = effects.sent[0]!.req.id;
    for (let i = 0; i < 5; i++) {
      advance(900);
      scheduler.reply(a, id, replyTo(1, `chunk ${i}`));
      scheduler.expire();
    }
    assert.deepEqual(effects.failures, []);
    advance(1_000);
    scheduler.expire();
    assert.deepEqual(effects.failures, [{ connId: '1', action: 'close', reason: 'request-timeout' }]);
    assert.deepEqual(Object.fromEntries(scheduler.stats.failures), { 'request-timeout': 1 });
  });
});

describe('scheduler: disconnect notices', () => {
  test('routed to the worker holding the connection; queued requests of that connection are dropped', () => {
    const { scheduler, effects, worker } = setup();
    worker('a', 1);
    scheduler.arrive(0, request(1));
    scheduler.arrive(0, request(2));
    scheduler.arrive(0, request(3));
    assert.equal(scheduler.queueDepth, 2);
    scheduler.arrive(0, disconnect(1));
    scheduler.arrive(0, disconnect(2));
    scheduler.arrive(0, disconnect(99));
    assert.deepEqual(effects.notices.map((n) => n.worker), ['a']);
    assert.equal(scheduler.queueDepth, 1);
    assert.deepEqual(Object.fromEntries(scheduler.stats.notices), { routed: 1, 'cancelled-queued': 1, unclaimed: 1 });
    assert.equal(scheduler.pending, 2);
  });

  test('a frame that is not a Mongrel2 message is counted and dropped', () => {
    const { scheduler, effects, worker } = setup();
    worker('a', 1);
    assert.equal(scheduler.arrive(0, Buffer.from('garbage')), false);
    assert.equal(effects.sent.length, 0);
    assert.equal(scheduler.stats.protocolErrors, 1);
  });
});
