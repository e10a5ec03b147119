import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_HISTORY, LAST_SLOT_PROBE_MS, RestartPolicy, classifyExit, failurePhase, type SlotHistory } from '../../../src/supervisor/arbiter/restart-policy';

const OPTS = { initialMs: 100, maxMs: 1_000, resetAfterMs: 5_000, maxFailures: 3, windowMs: 10_000, probeAfterMs: 60_000 };
const almostOne = 1 - Number.EPSILON;

test('backoff cap doubles per consecutive failure and stops at maxMs', () => {
  const p = new RestartPolicy(OPTS, () => almostOne);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 50].map((n) => p.capFor(n)), [100, 200, 400, 800, 1000, 1000, 1000]);
});

test('full jitter keeps every delay inside [0, cap)', () => {
  const values = [0, 0.25, 0.5, 0.999999, 1, -1];
  let i = 0;
  const p = new RestartPolicy(OPTS, () => values[i++ % values.length] ?? 0);
  for (let attempt = 1; attempt <= 6; attempt++) {
    for (let k = 0; k < values.length; k++) {
      const d = p.delayFor(attempt);
      assert.ok(d >= 0 && d < p.capFor(attempt), `attempt ${attempt}: ${d} outside [0, ${p.capFor(attempt)})`);
      assert.ok(Number.isInteger(d));
    }
  }
  const low = new RestartPolicy(OPTS, () => 0);
  assert.equal(low.delayFor(3), 0);
  const high = new RestartPolicy(OPTS, () => almostOne);
  assert.equal(high.delayFor(3), 399);
});

test('consecutive quick failures grow the delay', () => {
  const p = new RestartPolicy({ ...OPTS, maxFailures: 100 }, () => almostOne);
  let h: SlotHistory = EMPTY_HISTORY;
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    const v = p.onFailure(h, 1_000 + i * 10, 50);
    h = v.history;
    delays.push(v.delayMs);
  }
  assert.deepEqual(delays, [99, 199, 399, 799, 999]);
  assert.equal(h.attempts, 5);
});

test('a failure after a stable uptime restarts the backoff from initialMs', () => {
  const p = new RestartPolicy({ ...OPTS, maxFailures: 100 }, () => almostOne);
  let h: SlotHistory = EMPTY_HISTORY;
  for (let i = 0; i < 4; i++) h = p.onFailure(h, i, 10).history;
  assert.equal(h.attempts, 4);
  const v = p.onFailure(h, 100, OPTS.resetAfterMs);
  assert.equal(v.history.attempts, 1);
  assert.equal(v.delayMs, 99);
});

test('a clean exit after a stable run resets attempts; a short one does not', () => {
  const p = new RestartPolicy(OPTS);
  const h = p.onFailure(p.onFailure(EMPTY_HISTORY, 0, 0).history, 1, 0).history;
  assert.equal(p.onCleanExit(h, 10).attempts, 2);
  assert.equal(p.onCleanExit(h, OPTS.resetAfterMs).attempts, 0);
});

test('the breaker opens on the K-th failure inside the window, and only once', () => {
  const p = new RestartPolicy(OPTS, () => 0);
  let h: SlotHistory = EMPTY_HISTORY;
  const opened: boolean[] = [];
  for (const t of [0, 1_000, 2_000, 3_000]) {
    const v = p.onFailure(h, t, 0);
    h = v.history;
    opened.push(v.breakerOpened);
  }
  assert.deepEqual(opened, [false, false, true, false]);
  // The failure at 3 000 came while open (a probe's): the next probe waits a full period from then.
  assert.equal(h.breakerOpenedAt, 3_000);
});

test('an open breaker probes after probeAfterMs; 0 turns probing off; a closed one has no probe', () => {
  const p = new RestartPolicy(OPTS, () => 0);
  let h: SlotHistory = EMPTY_HISTORY;
  for (const t of [0, 1_000, 2_000]) h = p.onFailure(h, t, 0).history;
  assert.equal(p.probeAt(h), 2_000 + OPTS.probeAfterMs);
  assert.equal(p.probeAt(p.onFailure(h, 70_000, 500).history), 70_000 + OPTS.probeAfterMs, 'a failed probe re-arms');
  assert.equal(new RestartPolicy({ ...OPTS, probeAfterMs: 0 }, () => 0).probeAt(h), null);
  assert.equal(p.probeAt(EMPTY_HISTORY), null);
});

test('failures older than the window do not count toward the breaker', () => {
  const p = new RestartPolicy(OPTS, () => 0);
  let h: SlotHistory = EMPTY_HISTORY;
  for (const t of [0, 6_000, 12_000, 18_000, 24_000]) {
    const v = p.onFailure(h, t, 0);
    h = v.history;
    assert.equal(v.breakerOpened, false, `opened at t=${t}`);
  }
  assert.equal(h.breakerOpenedAt, null);
  assert.deepEqual(h.failures, [18_000, 24_000]);
});

test('histories are immutable values', () => {
  const p = new RestartPolicy(OPTS);
  const v = p.onFailure(EMPTY_HISTORY, 0, 0);
  assert.notEqual(v.history, EMPTY_HISTORY);
  assert.equal(EMPTY_HISTORY.attempts, 0);
  assert.ok(Object.isFrozen(v.history) && Object.isFrozen(v.history.failures));
});

test('classifyExit: only exits we did not ask for are failures, boot and app-load errors included', () => {
  assert.deepEqual(classifyExit({ code: 0, signal: null, drainReason: 'scale-down' }), { reason: 'scale-down', expected: true, failure: false });
  assert.deepEqual(classifyExit({ code: 1, signal: null }), { reason: 'crash', expected: false, failure: true });
  assert.deepEqual(classifyExit({ code: 3, signal: null }), { reason: 'boot-error', expected: false, failure: true });
  assert.deepEqual(classifyExit({ code: 4, signal: null }), { reason: 'app-load-error', expected: false, failure: true });
  assert.deepEqual(classifyExit({ code: null, signal: 'SIGKILL' }), { reason: 'signal', expected: false, failure: true });
  assert.deepEqual(classifyExit({ code: 0, signal: null }), { reason: 'exited', expected: false, failure: true });
  assert.deepEqual(classifyExit({ code: null, signal: 'SIGKILL', killReason: 'heartbeat-timeout' }), { reason: 'heartbeat-timeout', expected: false, failure: true });
  assert.deepEqual(classifyExit({ code: null, signal: 'SIGKILL', killReason: 'drain-timeout', drainReason: 'stop' }), { reason: 'drain-timeout', expected: true, failure: false });
  assert.equal(classifyExit({ code: null, signal: null, spawnError: true }).reason, 'spawn-error');
});

test('serving failures only back off: they never count toward the breaker; a ready clears earlier boot failures', () => {
  const p = new RestartPolicy(OPTS, () => almostOne);
  let h: SlotHistory = EMPTY_HISTORY;
  const delays: number[] = [];
  for (let i = 0; i < 10; i++) {
    const v = p.onFailure(h, i * 100, 50, 'serving');
    assert.equal(v.breakerOpened, false);
    h = v.history;
    delays.push(v.delayMs);
  }
  assert.deepEqual([h.failures, h.breakerOpenedAt, delays.slice(0, 4)], [[], null, [99, 199, 399, 799]]);
  let b: SlotHistory = EMPTY_HISTORY;
  for (const t of [0, 1_000]) b = p.onFailure(b, t, 0, 'boot').history;
  b = p.onReady(b);
  assert.deepEqual([b.failures, b.attempts], [[], 2], 'the backoff survives a ready, the boot failures do not');
  assert.equal(p.onFailure(b, 2_000, 0, 'boot').breakerOpened, false, 'two more boot failures are needed again');
  assert.equal(p.probeAt(p.onFailure(p.onFailure(p.onFailure(EMPTY_HISTORY, 0, 0).history, 1, 0).history, 2, 0).history, true), 2 + LAST_SLOT_PROBE_MS);
});

test('failurePhase: before ready, or a boot-type exit, is a boot failure; after ready a serving one', () => {
  const crash = classifyExit({ code: 1, signal: null });
  assert.equal(failurePhase(crash, false), 'boot');
  assert.equal(failurePhase(crash, true), 'serving');
  assert.equal(failurePhase(classifyExit({ code: null, signal: 'SIGKILL', killReason: 'heartbeat-timeout' }), true), 'serving');
  assert.equal(failurePhase(classifyExit({ code: 4, signal: null }), true), 'boot');
});
