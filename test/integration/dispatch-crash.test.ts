/**
 * A dead or hung worker's requests are never left hanging:
 * - kill -9 under POST load: the killed worker's in-flight POSTs are answered 503 (with Retry-After) at once,
 *   each exactly once, and nothing else fails;
 * - SIGSTOP under GET load: the stopped worker's requests are answered (retried elsewhere, or 503) by the
 *   heartbeat deadline, and when it resumes its late replies are dropped, never sent as second answers.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { startTestDispatcher } from '../helpers/dispatcher';
import { rawRequest } from '../helpers/http-client';
import { startLoad } from '../helpers/load';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { REPO_ROOT } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

const SLOW_APP = path.join(REPO_ROOT, 'dist/test/fixtures/slow-post-app.js');

test('kill -9 under POST load: its in-flight requests get 503 at once (no later than the slowest answer), once; nothing else fails', { timeout: 40_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const dispatcher = await startTestDispatcher(m2);
  t.after(() => dispatcher.proc.stop());
  const workers = await Promise.all([0, 1, 2].map(() => dispatcher.worker(SLOW_APP)));
  for (const w of workers) t.after(() => w.stop());

  const load = startLoad({
    port: m2.port,
    clients: 24,
    request: (c, n) => ({ method: 'POST', path: '/slow?ms=100', headers: [['Content-Type', 'text/plain']], body: `c${c}-${n}` }),
    expectedBody: (c, n) => `c${c}-${n}`,
  });
  await load.reached(100);
  const victim = workers[0]!;
  const killedAt = performance.now();
  victim.signal('SIGKILL');
  await victim.exited;
  await load.reached(load.results.length + 200);
  const results = await load.stop();

  const problems = results.filter((r) => r.problem !== undefined);
  assert.deepEqual(problems.slice(0, 5), [], `${problems.length} requests failed`);
  const unavailable = results.filter((r) => r.status === 503);
  assert.ok(unavailable.length > 0, 'the killed worker held requests');
  // A request sent in the few ms between the kill and the dispatcher noticing it still went to the dead worker:
  // it is one of its requests too. Nothing sent after the dispatcher knew may get a 503.
  const lost = await dispatcher.proc.waitForLog((l) => l['event'] === 'dispatcher.worker.lost');
  // (+1: the log's clock has millisecond resolution.)
  const lostAt = Date.parse(String(lost['time'])) - performance.timeOrigin + 1;
  // "At once" without a wall-clock bound (issue 18, item 10): a 503 is the dispatcher's answer at the moment it
  // saw the death, so it reaches its client no later than the slowest ordinary answer of this same run takes from
  // send to answer (which includes the 100 ms of work a 503 does not wait for).
  const slowestAnswer = Math.max(...results.filter((r) => r.status === 200).map((r) => r.endedAt - r.sentAt));
  for (const r of unavailable) {
    assert.ok(r.sentAt < lostAt, `only requests sent before the dispatcher saw the death got 503 (sent ${Math.round(r.sentAt - lostAt)} ms after)`);
    assert.ok(r.endedAt > killedAt, 'a 503 came after the kill');
    assert.ok(r.endedAt - lostAt <= slowestAnswer, `503 came ${Math.round(r.endedAt - lostAt)} ms after the dispatcher saw the death; the slowest answer took ${Math.round(slowestAnswer)} ms`);
  }
  // The dispatcher answered exactly those (a POST is never retried) and no late reply went out.
  await dispatcher.proc.stop();
  const exit = await dispatcher.proc.waitForLog((l) => l['msg'] === 'dispatcher.exit');
  assert.deepEqual(exit['failed'], { 'worker-lost': unavailable.length });
  assert.equal(exit['retries'], 0);
  assert.equal(results.filter((r) => r.status === 200).length + unavailable.length, results.length);
});

test('SIGSTOP under GET load: its requests are answered by the heartbeat deadline; resumed, it cannot double-answer', { timeout: 40_000 }, async (t) => {
  const HEARTBEAT_TIMEOUT_MS = 1_000;
  const HEARTBEAT_INTERVAL_MS = 200;
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const dispatcher = await startTestDispatcher(m2, ['--heartbeat-interval-ms', String(HEARTBEAT_INTERVAL_MS), '--heartbeat-timeout-ms', String(HEARTBEAT_TIMEOUT_MS)]);
  t.after(() => dispatcher.proc.stop());
  const workers = await Promise.all([0, 1, 2].map(() => dispatcher.worker(SLOW_APP)));
  for (const w of workers) t.after(() => w.stop());

  const load = startLoad({
    port: m2.port,
    clients: 24,
    request: (c, n) => ({ path: `/slow?ms=50&tag=c${c}-${n}` }),
    expectedBody: (c, n) => `slept 50 ms c${c}-${n}\n`,
  });
  await load.reached(100);
  const victim = workers[0]!;
  const stoppedAt = performance.now();
  victim.signal('SIGSTOP');
  t.after(() => victim.signal('SIGCONT'));
  await dispatcher.proc.waitForLog((l) => l['event'] === 'dispatcher.worker.lost');
  await load.reached(load.results.length + 100);
  victim.signal('SIGCONT');
  // Resumed: it finds out it was dropped (UNKNOWN), registers again, and serves again.
  const registrations = (): number => dispatcher.proc.logs.filter((l) => l['msg'] === 'worker registered' && l['workerPid'] === victim.pid).length;
  await dispatcher.proc.waitForLog(() => registrations() >= 2);
  await load.reached(load.results.length + 200);
  const results = await load.stop();

  const problems = results.filter((r) => r.problem !== undefined);
  assert.deepEqual(problems.slice(0, 5), [], `${problems.length} requests failed`);
  // Answered by the heartbeat deadline, measured in this run rather than by a wall-clock bound (issue 18, item
  // 10): every request in flight at the stop ended once the dispatcher declared the worker lost plus the slowest
  // ordinary answer of the run (a retried request is one more ordinary request).
  const lostLine = await dispatcher.proc.waitForLog((l) => l['event'] === 'dispatcher.worker.lost');
  const lostAt = Date.parse(String(lostLine['time'])) - performance.timeOrigin + 1;
  // The deadline runs from the worker's last message, which left at most one heartbeat interval before the stop.
  assert.ok(
    lostAt - stoppedAt >= HEARTBEAT_TIMEOUT_MS - HEARTBEAT_INTERVAL_MS,
    `declared lost ${Math.round(lostAt - stoppedAt)} ms after the stop: by the heartbeat deadline, not before`,
  );
  const slowestAnswer = Math.max(...results.filter((r) => r.status === 200 && r.sentAt > lostAt).map((r) => r.endedAt - r.sentAt));
  const slowest = Math.max(...results.filter((r) => r.sentAt < stoppedAt).map((r) => r.endedAt - lostAt));
  assert.ok(slowest <= slowestAnswer, `a request in flight at the stop was answered ${Math.round(slowest)} ms after the loss; the slowest answer took ${Math.round(slowestAnswer)} ms`);
  assert.ok(results.filter((r) => r.status === 200).length + results.filter((r) => r.status === 503).length === results.length);
  await dispatcher.proc.stop();
  const exit = await dispatcher.proc.waitForLog((l) => l['msg'] === 'dispatcher.exit');
  assert.ok((exit['retries'] as number) > 0, 'the stopped worker\'s GETs were retried elsewhere');
  const lost = dispatcher.proc.logs.filter((l) => l['event'] === 'dispatcher.worker.lost');
  assert.deepEqual(lost.map((l) => l['cause']), ['heartbeat-timeout']);
});

test('dispatcher kill -9 under load: a new dispatcher on the same endpoint serves again, workers reconnect by themselves', { timeout: 40_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const first = await startTestDispatcher(m2);
  t.after(() => first.proc.stop());
  const workers = await Promise.all([0, 1].map(() => first.worker(SLOW_APP)));
  for (const w of workers) t.after(() => w.stop());

  const load = startLoad({
    port: m2.port,
    clients: 24,
    request: (c, n) => ({ path: `/slow?ms=5&tag=c${c}-${n}` }),
    expectedBody: (c, n) => `slept 5 ms c${c}-${n}\n`,
    timeoutMs: 3_000,
  });
  await load.reached(200);
  first.proc.signal('SIGKILL');
  await first.proc.exited;
  const killedAt = performance.now();
  // What a supervisor does: start a new dispatcher at once (same endpoint). Probe with fresh connections until
  // the pool answers; the workers are not restarted.
  const second = startTestDispatcher(m2);
  t.after(async () => (await second).proc.stop());
  let probe = 0;
  const firstAnswer = await waitFor(async () => {
    probe += 1;
    const res = await rawRequest(m2.port, { path: `/slow?ms=1&tag=probe${probe}` }, { timeoutMs: 300 }).catch(() => undefined);
    return res?.status === 200 && res.body.toString() === `slept 1 ms probe${probe}\n` ? performance.now() : undefined;
  }, { timeoutMs: 10_000, intervalMs: 1, what: 'the pool to answer again' });
  const restarted = await second;
  await restarted.proc.waitForLog(() => restarted.proc.logs.filter((l) => l['msg'] === 'worker registered').length === 2);
  const resumedAt = load.results.length;
  await load.reached(resumedAt + 200);
  const results = await load.stop();

  t.diagnostic(`served again ${Math.round(firstAnswer - killedAt)} ms after the kill`);
  // Order and outcome, not a wall-clock bound (issue 18, item 10): the pool answered again (waitFor above), through
  // the new dispatcher, with the same worker processes, which registered with it by themselves.
  const secondReady = await restarted.proc.waitForLog((l) => l['msg'] === 'dispatcher.ready');
  assert.ok(Date.parse(String(secondReady['time'])) - performance.timeOrigin >= killedAt - 1, 'the new dispatcher came up after the kill');
  assert.deepEqual(workers.map((w) => w.child.exitCode), [null, null], 'the workers were not restarted');
  const registered = restarted.proc.logs.filter((l) => l['msg'] === 'worker registered').map((l) => l['workerPid']).sort();
  assert.deepEqual(registered, workers.map((w) => w.pid).sort());
  // What the crash lost: requests passing through the dead dispatcher (their clients time out); at most one per
  // client here. Requests sent once the new dispatcher answered do not fail.
  const lost = results.filter((r) => r.problem !== undefined);
  t.diagnostic(`${lost.length} requests lost with the dispatcher (24 clients, of ${results.length} requests)`);
  const perClient = new Map<number, number>();
  for (const r of lost) perClient.set(r.client, (perClient.get(r.client) ?? 0) + 1);
  assert.ok([...perClient.values()].every((n) => n === 1), `at most the one request in flight per client: ${JSON.stringify([...perClient])}`);
  assert.deepEqual(results.filter((r) => r.problem !== undefined && r.sentAt > firstAnswer).slice(0, 3), []);
});
