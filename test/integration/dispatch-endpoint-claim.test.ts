/**
 * One live dispatcher per worker endpoint (issue 18, item 2): a second pool started from the same run directory,
 * or a second dispatcher on the same `--bind`, refuses with exit code 3 naming the endpoint and the pid that holds
 * it, and the first keeps serving, also after one of its workers is replaced; a socket file left by a `kill -9`ed
 * dispatcher is taken over; two dispatchers started at once end with exactly one bound; a `tcp://` port in use
 * gives the same clear refusal.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startTestDispatcher } from '../helpers/dispatcher';
import { rawRequest } from '../helpers/http-client';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { settled, startCliPool } from '../helpers/pool';
import { freePort } from '../helpers/ports';
import { CLI, HELLO_APP, spawnNode, startWorker, type TestProcess } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

/** How a process that should refuse ended: its exit, or the log line saying it started serving instead. */
async function outcome(proc: TestProcess, servingEvent: string): Promise<string> {
  return Promise.race([
    proc.exited.then(([code, signal]) => `exit ${code ?? signal}`),
    proc.waitForLog((l) => l['event'] === servingEvent || l['msg'] === servingEvent, 30_000).then(() => `${servingEvent} (it took the endpoint over)`),
  ]);
}

/** `n` requests answered 200 with their own echo. */
async function serves(m2: TestMongrel2, tag: string, n = 20): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await rawRequest(m2.port, { path: `/echo/${tag}-${i}` }, { timeoutMs: 5_000 });
    assert.deepEqual([res.status, res.body.toString()], [200, `/echo/${tag}-${i}`]);
  }
}

test('a second pool on the same run directory refuses (exit 3, endpoint and pid); the first keeps serving after a worker is replaced', { timeout: 90_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const first = await startCliPool(m2, ['--workers', '2', '--restart-backoff-initial-ms', '50']);
  t.after(() => first.stop());
  const before = await first.waitPool(settled(2), '2 ready workers');
  const dispatcherPid = before.dispatcher?.pid;
  assert.ok(typeof dispatcherPid === 'number');

  const other = await startTestMongrel2();
  t.after(() => other.stop());
  const second = spawnNode([CLI, 'start', '--app', HELLO_APP, ...other.workerArgs(), '--admin', `127.0.0.1:${await freePort()}`, '--run-dir', first.runDir, '--workers', '1']);
  t.after(() => second.stop());
  assert.equal(await outcome(second, 'pool.ready'), 'exit 3', second.stderr());
  const endpoint = `ipc://${path.join(first.runDir, 'dispatch.sock')}`;
  assert.ok(second.stderr().includes(`${endpoint} is held by a live dispatcher (pid ${dispatcherPid})`), second.stderr());

  // What made the takeover visible: a replaced worker of the first pool joins the first dispatcher, not a thief.
  const victim = before.workers[0]?.pid;
  assert.ok(typeof victim === 'number');
  process.kill(victim, 'SIGKILL');
  const after = await first.waitPool((p) => settled(2)(p) && p.workers.every((w) => w.pid !== victim), `worker ${victim} replaced`);
  assert.equal(after.dispatcher?.pid, dispatcherPid);
  await serves(m2, 'after-replace');
});

test('a second dispatcher on the same ipc endpoint refuses (exit 3, endpoint and pid) and never unlinks the live socket', { timeout: 60_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const first = await startTestDispatcher(m2);
  t.after(() => first.proc.stop());
  const worker = await first.worker(HELLO_APP);
  t.after(() => worker.stop());
  await serves(m2, 'first');

  const second = spawnNode([CLI, 'dispatcher', ...m2.workerArgs(), '--bind', first.endpoint]);
  t.after(() => second.stop());
  assert.equal(await outcome(second, 'dispatcher.ready'), 'exit 3', second.stderr());
  const fatal = second.logs.find((l) => l['event'] === 'dispatcher.fatal');
  assert.equal(fatal?.['code'], 'M2P_ERR_ENDPOINT_IN_USE');
  assert.ok(String(fatal?.['msg']).startsWith(`${first.endpoint} is held by a live dispatcher (pid ${first.proc.pid})`), String(fatal?.['msg']));

  // A worker started now (as a replacement would be) reaches the first dispatcher.
  await worker.stop();
  const replacement = await first.worker(HELLO_APP);
  t.after(() => replacement.stop());
  await serves(m2, 'replacement');
  assert.equal(first.proc.logs.filter((l) => l['event'] === 'dispatcher.worker.hello').length, 2);
});

test('the socket file of a kill -9ed dispatcher is taken over by the next one', { timeout: 60_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const dead = await startTestDispatcher(m2);
  t.after(() => dead.proc.stop());
  dead.proc.signal('SIGKILL');
  await dead.proc.exited;
  const socketPath = dead.endpoint.slice('ipc://'.length);
  assert.ok(existsSync(socketPath), 'the killed dispatcher left its socket file behind');

  const next = await startTestDispatcher(m2);
  t.after(() => next.proc.stop());
  await next.proc.waitForLog((l) => l['event'] === 'dispatcher.endpoint.stale');
  const worker = await next.worker(HELLO_APP);
  t.after(() => worker.stop());
  await serves(m2, 'taken-over');
  // A clean stop leaves no file behind for the next one to judge.
  await next.proc.stop();
  assert.equal(existsSync(socketPath), false);
});

test('two dispatchers started at once on one endpoint: exactly one binds, the other exits 3', { timeout: 60_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-claim-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const endpoint = `ipc://${path.join(dir, 'dispatch.sock')}`;
  const both = [0, 1].map(() => spawnNode([CLI, 'dispatcher', ...m2.workerArgs(), '--bind', endpoint]));
  for (const p of both) t.after(() => p.stop());
  const outcomes = await Promise.all(both.map((p) => outcome(p, 'dispatcher.ready')));
  assert.deepEqual([...outcomes].sort(), ['dispatcher.ready (it took the endpoint over)', 'exit 3'], both.map((p) => p.stderr()).join('\n'));
  const loser = both[outcomes.indexOf('exit 3')];
  assert.equal(loser?.logs.find((l) => l['event'] === 'dispatcher.fatal')?.['code'], 'M2P_ERR_ENDPOINT_IN_USE');
  const worker = await startWorker(HELLO_APP, ['--dispatcher', endpoint]);
  t.after(() => worker.stop());
  await serves(m2, 'race');
});

test('a tcp:// port in use: the bind refusal names the endpoint and the pid, exit 3', { timeout: 30_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const first = await startTestDispatcher(m2, ['--insecure'], { endpoint });
  t.after(() => first.proc.stop());
  const second = spawnNode([CLI, 'dispatcher', ...m2.workerArgs(), '--bind', endpoint, '--insecure']);
  t.after(() => second.stop());
  assert.equal(await outcome(second, 'dispatcher.ready'), 'exit 3', second.stderr());
  const fatal = second.logs.find((l) => l['event'] === 'dispatcher.fatal');
  assert.equal(fatal?.['code'], 'M2P_ERR_ENDPOINT_IN_USE');
  assert.ok(String(fatal?.['msg']).startsWith(`${endpoint} is held by a live process (pid ${first.proc.pid})`), String(fatal?.['msg']));
  await waitFor(() => first.proc.child.exitCode === null, { what: 'the first dispatcher still running' });
});


test('a dispatcher on its way out is waited for, not refused: the next one binds once it has gone', { timeout: 60_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  // Its drain lasts while a request is held by a worker that does not answer (stopped; no heartbeat deadline).
  const leaving = await startTestDispatcher(m2, ['--drain-timeout-ms', '6000', '--heartbeat-timeout-ms', '30000']);
  t.after(() => leaving.proc.stop());
  const worker = await leaving.worker(HELLO_APP, ['--log-level', 'debug']);
  t.after(async () => {
    worker.signal('SIGCONT');
    await worker.stop();
  });
  const held = rawRequest(m2.port, { path: '/slow?ms=60000' }, { timeoutMs: 20_000 }).catch(() => undefined);
  await worker.waitForLog((l) => l['event'] === 'request.start' && l['path'] === '/slow');
  worker.signal('SIGSTOP');
  leaving.proc.signal('SIGTERM');
  await leaving.proc.waitForLog((l) => l['event'] === 'dispatcher.stop');

  const next = spawnNode([CLI, 'dispatcher', ...m2.workerArgs(), '--bind', leaving.endpoint]);
  t.after(() => next.stop());
  const waiting = await next.waitForLog((l) => l['event'] === 'dispatcher.endpoint.waiting');
  assert.equal(waiting['holderPid'], leaving.proc.pid);
  assert.equal(leaving.proc.child.exitCode, null, 'the old dispatcher was still draining when the new one asked');
  assert.equal(await outcome(next, 'dispatcher.ready'), 'dispatcher.ready (it took the endpoint over)', JSON.stringify(next.logs.find((l) => l['event'] === 'dispatcher.fatal')));
  const [code] = await leaving.proc.exited;
  assert.equal(code, 0);
  // ISO timestamps of the two processes' own log lines (one machine, one clock).
  const exitAt = Date.parse(String(leaving.proc.logs.find((l) => l['event'] === 'dispatcher.exit')?.['time']));
  const startAt = Date.parse(String(next.logs.find((l) => l['event'] === 'dispatcher.start')?.['time']));
  assert.ok(startAt >= exitAt, `bound only after the old one let go (${startAt} < ${exitAt})`);
  await held;
});
