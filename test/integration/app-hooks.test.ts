/**
 * Issue #21 items 1–3 against a real Mongrel2 and real m2pool processes: a start hook holds traffic back until it
 * resolves (dispatch topology: the request waits at the dispatcher); a failing start hook is a boot failure the
 * crash-loop breaker counts; a stop hook runs after the drain; the request id is on the worker's and the
 * dispatcher's log lines; middleware answers early and after, and onFinish sees a client disconnect.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { HttpConnection, buildRequest, rawRequest } from '../helpers/http-client';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { startCliPool } from '../helpers/pool';
import { CLI, REPO_ROOT, spawnNode, startWorker } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

const HOOKS_APP = path.join(REPO_ROOT, 'dist/test/fixtures/hooks-app.js');
const T = { timeout: 60_000 };

/** A temp file the fixture app appends its events to; read back as lines without the pid. */
async function eventsFile(t: TestContext): Promise<{ file: string; lines(): Promise<string[]> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2hooks-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'events.log');
  return {
    file,
    async lines() {
      const text = await readFile(file, 'utf8').catch(() => '');
      return text.split('\n').filter((l) => l !== '').map((l) => l.slice(l.indexOf(' ') + 1));
    },
  };
}

test('dispatch: a request that arrives while the start hook runs waits at the dispatcher and reaches the worker only after it resolved', T, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const events = await eventsFile(t);
  const pool = await startCliPool(m2, ['--workers', '1', '--request-log-level', 'info'], {
    app: HOOKS_APP,
    env: { HOOKS_APP_EVENTS: events.file, HOOKS_APP_START: 'gate' },
    until: (l) => l['event'] === 'dispatcher.ready',
  });
  t.after(() => pool.stop());
  await waitFor(async () => (await events.lines()).includes('start-begin'), { what: 'the start hook to begin' });
  const booting = await pool.waitPool((p) => p.booting === 1 && p.ready === 0, 'the worker booting in its start hook');

  const answer = rawRequest(m2.port, { path: '/state', headers: [['X-Request-Id', 'rid-gated']] }, { timeoutMs: 20_000 });
  // The request is at the dispatcher, queued: the worker has sent no HELLO, so it has no credit.
  await pool.waitPool((p) => p.dispatcher?.pending === 1, 'the request queued at the dispatcher');
  assert.deepEqual(await events.lines(), ['start-begin']);

  process.kill(booting.workers[0]!.pid!, 'SIGUSR2');
  const res = await answer;
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body.toString()), { started: true, requestId: 'rid-gated' });
  assert.equal(res.header('x-request-id'), 'rid-gated');
  await waitFor(async () => (await events.lines()).length === 3, { what: 'the finish event' });
  assert.deepEqual(await events.lines(), ['start-begin', 'start-done', 'finish /state response 200']);
  // The worker's own request line carries the id.
  const line = await pool.proc.waitForLog((l) => l['msg'] === 'request' && l['path'] === '/state');
  assert.equal(line['requestId'], 'rid-gated');
});

test('a start hook that fails is a boot failure: exit 3, worker.fatal with M2P_ERR_APP_HOOK, the crash-loop breaker opens', T, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const events = await eventsFile(t);
  const pool = await startCliPool(m2, ['--workers', '1', '--min-ready', '0', '--restart-backoff-initial-ms', '50', '--crash-loop-max-failures', '2', '--crash-loop-probe-after-ms', '0'], {
    app: HOOKS_APP,
    env: { HOOKS_APP_EVENTS: events.file, HOOKS_APP_START: 'fail' },
    until: (l) => l['event'] === 'admin.listen',
  });
  t.after(() => pool.stop());
  const p = await pool.waitPool((s) => s.breaker.some((b) => b.open), 'the breaker of slot 0 to open');
  const slot = p.breaker.find((b) => b.slot === 0);
  assert.equal(slot?.open, true);
  assert.equal(slot?.failures, 2);
  assert.deepEqual([slot?.lastExit?.reason, slot?.lastExit?.code], ['boot-error', 3]);
  // The supervisor's line (the worker writes its own, with the stack, too).
  const fatal = await pool.proc.waitForLog((l) => l['event'] === 'worker.fatal' && l['role'] !== 'worker');
  assert.equal(fatal['code'], 'M2P_ERR_APP_HOOK');
  assert.match(String(fatal['error']), /database unreachable/);
  // Both attempts ran the hook, and no request could ever have reached them.
  assert.deepEqual(await events.lines(), ['start-begin', 'start-begin']);
});

test('a start hook that hangs past the boot timeout is a boot failure too (exit 3), and the worker never connects', T, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const worker = spawnNode([CLI, 'worker', '--app', HOOKS_APP, ...m2.workerArgs(), '--boot-timeout-ms', '700'], { env: { HOOKS_APP_START: 'hang' } });
  t.after(() => worker.stop());
  assert.deepEqual(await worker.exited, [3, null]);
  const fatal = await worker.waitForLog((l) => l['event'] === 'worker.fatal');
  assert.equal(fatal['code'], 'M2P_ERR_APP_HOOK');
  assert.match(String(fatal['msg']), /start hooks did not finish within \d+ ms/);
  // The deadline is what was left of the boot budget after loading the app.
  assert.equal(worker.logs.some((l) => l['msg'] === 'worker.ready'), false);
});

test('direct: the stop hook closes its resource after the drain, once the in-flight request was answered', T, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const events = await eventsFile(t);
  const worker = await startWorker(HOOKS_APP, m2.workerArgs(), [], { HOOKS_APP_EVENTS: events.file });
  t.after(() => worker.stop());

  const answer = rawRequest(m2.port, { path: '/hold' }, { timeoutMs: 20_000 });
  await waitFor(async () => (await events.lines()).includes('hold-begin'), { what: 'the request in its handler' });
  worker.signal('SIGTERM');
  await worker.waitForLog((l) => l['event'] === 'worker.drain');
  assert.ok(!(await events.lines()).includes('stop-closed'), 'the stop hook waits for the drain');
  worker.signal('SIGUSR2');
  const res = await answer;
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'held');
  const [code] = await worker.exited;
  assert.equal(code, 0);
  assert.deepEqual(await events.lines(), ['start-begin', 'start-done', 'hold-begin', 'finish /hold response 200', 'hold-finished', 'stop-closed']);
});

test('dispatch: the request id is on the worker line about a request and on the dispatcher line when its worker died with it', T, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const pool = await startCliPool(m2, ['--workers', '1', '--log-level', 'debug'], { app: HOOKS_APP });
  t.after(() => pool.stop());
  // One request with the client's id, one without: the worker names it after the dispatcher's number for it.
  const answers = [
    rawRequest(m2.port, { method: 'POST', path: '/hang', headers: [['X-Request-Id', 'rid-lost-42']], body: 'x' }, { timeoutMs: 20_000 }),
    rawRequest(m2.port, { method: 'POST', path: '/hang', body: 'y' }, { timeoutMs: 20_000 }),
  ];
  await waitFor(() => pool.proc.logs.filter((l) => l['event'] === 'hanging').length === 2, { what: 'both requests in their handler' });
  const hanging = pool.proc.logs.filter((l) => l['event'] === 'hanging');
  const ids = hanging.map((l) => String(l['requestId'])).sort();
  assert.equal(ids[1], 'rid-lost-42');
  assert.match(ids[0]!, /^d[0-9a-f]{8}$/);
  assert.ok(hanging.every((l) => l['role'] === 'worker'));
  process.kill(Number(hanging[0]!['pid']), 'SIGKILL');
  for (const res of await Promise.all(answers)) assert.equal(res.status, 503);
  await waitFor(() => pool.proc.logs.filter((l) => l['event'] === 'dispatcher.request.failed').length === 2, { what: 'two dispatcher.request.failed lines' });
  const failed = pool.proc.logs.filter((l) => l['event'] === 'dispatcher.request.failed');
  assert.ok(failed.every((l) => l['role'] === 'dispatcher'));
  assert.deepEqual(failed.map((l) => String(l['requestId'])).sort(), ids);
});

test('direct: app middleware answers early and after next(), and onFinish sees a client that went away', T, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const events = await eventsFile(t);
  const worker = await startWorker(HOOKS_APP, m2.workerArgs(), ['--log-level', 'debug'], { HOOKS_APP_EVENTS: events.file });
  t.after(() => worker.stop());

  const refused = await rawRequest(m2.port, { path: '/guarded' });
  assert.equal(refused.status, 401);
  const allowed = await rawRequest(m2.port, { path: '/guarded', headers: [['X-Key', 'k']] });
  assert.equal(allowed.status, 200);
  assert.equal(allowed.header('x-mw'), 'after');
  assert.equal(allowed.body.toString(), 'guarded');

  const conn = await HttpConnection.open(m2.port);
  conn.send(buildRequest({ path: '/wait' }));
  await worker.waitForLog((l) => l['msg'] === 'request.start' && l['path'] === '/wait');
  conn.close();
  await waitFor(async () => (await events.lines()).some((l) => l.startsWith('finish /wait')), { what: 'the finish event of /wait' });
  const finishes = (await events.lines()).filter((l) => l.startsWith('finish'));
  assert.deepEqual(finishes, ['finish /guarded error 401', 'finish /guarded response 200', 'finish /wait aborted 0']);
});
