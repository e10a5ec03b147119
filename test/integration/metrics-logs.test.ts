/**
 * Logs of a real pool (issue #4, observability): `m2pool start` with the example app behind a real Mongrel2.
 * - Every line on stdout is JSON; worker lines carry `role: 'worker'`, `slot`, `pid` and `generation`, matching
 *   the supervisor's `worker.spawn` for that process.
 * - Lifecycle events have stable names (`event` = `msg`) and every one seen is documented in deploy/LOGGING.md.
 * - The log level changes at runtime (CLI and admin API) in live workers, in workers spawned afterwards, and back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { rawRequest } from '../helpers/http-client';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { CLI, HELLO_APP, REPO_ROOT, spawnNode, type LogLine } from '../helpers/processes';
import { adminCall } from '../helpers/supervisor-harness';
import { waitFor } from '../helpers/wait-for';

const LOGGING_DOC = path.join(REPO_ROOT, 'deploy', 'LOGGING.md');

interface PoolDoc {
  readonly ready: number;
  readonly workers: ReadonlyArray<{
    readonly slot: number;
    readonly pid: number | null;
    readonly generation: number;
    readonly state: string;
    readonly uptimeMs: number;
    readonly lastHeartbeatAgoMs: number | null;
  }>;
}

test('pool logs: tagged JSON lines, documented lifecycle events, and a runtime log level', { timeout: 90_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const adminPort = await freePort();
  const admin = `127.0.0.1:${adminPort}`;
  const proc = spawnNode([CLI, 'start', '--app', HELLO_APP, '--workers', '2', '--max-workers', '4', ...m2.workerArgs(), '--admin', admin, '--restart-backoff-initial-ms', '100', '--heartbeat-interval-ms', '100', '--request-log-level', 'info']);
  t.after(() => proc.stop());
  const pool = async (): Promise<PoolDoc> => (await adminCall(adminPort, 'GET', '/pool')).body as unknown as PoolDoc; // our own admin document
  const waitPool = (pred: (p: PoolDoc) => boolean, what: string): Promise<PoolDoc> =>
    waitFor(async () => {
      const p = await pool();
      return pred(p) ? p : undefined;
    }, { timeoutMs: 20_000, what });
  await proc.waitForLog((l) => l['event'] === 'pool.ready', 20_000);
  await waitPool((p) => p.ready === 2, '2 ready workers');

  const fromWorker = (pid: number, pred: (l: LogLine) => boolean = () => true): LogLine[] => proc.logs.filter((l) => l['role'] === 'worker' && l['pid'] === pid && pred(l));
  /**
   * Send bursts of concurrent requests until every pid in `pids` logged a line matching `pred`. Mongrel2 picks
   * the worker; strictly sequential requests tend to stay on one worker, concurrent ones spread.
   */
  const untilEachLogs = async (pids: readonly number[], tag: string, pred: (l: LogLine) => boolean): Promise<void> => {
    let i = 0;
    await waitFor(async () => {
      const burst = await Promise.all(Array.from({ length: 6 }, () => rawRequest(m2.port, { path: `/echo/${tag}-${i++}` })));
      assert.deepEqual(burst.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
      return pids.every((pid) => fromWorker(pid, pred).length > 0);
    }, { timeoutMs: 20_000, intervalMs: 1, what: `a ${tag} line from each of ${pids.join(', ')}` });
  };
  /**
   * A level change reaches a worker as an IPC message, applied when its event loop reads it: asynchronously.
   * Barrier: wait for two more heartbeats from every worker (heartbeats come from a timer; between two of them
   * the loop has polled its IPC channel, where the message was already waiting).
   */
  const appliedByEveryWorker = async (): Promise<void> => {
    const beatAt = (w: PoolDoc['workers'][number]): number => w.uptimeMs - (w.lastHeartbeatAgoMs ?? w.uptimeMs);
    const seen = new Map<number | null, Set<number>>((await pool()).workers.map((w) => [w.pid, new Set([beatAt(w)])]));
    await waitFor(async () => {
      for (const w of (await pool()).workers) seen.get(w.pid)?.add(beatAt(w));
      return [...seen.values()].every((beats) => beats.size >= 3);
    }, { timeoutMs: 10_000, what: 'two more heartbeats from every worker' });
  };
  const isRequest = (tag: string) => (l: LogLine) => l['msg'] === 'request' && String(l['path']).startsWith(`/echo/${tag}-`);
  const isRequestStart = (tag: string) => (l: LogLine) => l['msg'] === 'request.start' && String(l['path']).startsWith(`/echo/${tag}-`);

  // 1. Worker lines are tagged with the slot, pid and generation the supervisor spawned them with.
  const spawns = proc.logs.filter((l) => l['event'] === 'worker.spawn');
  const pidsLater = (): number[] => proc.logs.flatMap((l) => (l['event'] === 'worker.spawn' ? [l['workerPid'] as number] : []));
  assert.equal(spawns.length, 2);
  const pids = spawns.map((s) => s['workerPid'] as number);
  await untilEachLogs(pids, 'hello', isRequest('hello'));
  for (const s of spawns) {
    const own = fromWorker(s['workerPid'] as number);
    assert.ok(own.some((l) => l['event'] === 'worker.ready'), `worker ${String(s['workerPid'])} logs its own worker.ready`);
    for (const l of own) assert.deepEqual([l['slot'], l['generation']], [s['slot'], s['generation']], JSON.stringify(l));
  }
  for (const l of proc.logs) {
    assert.ok(!('raw' in l), `a line on stdout that is not JSON: ${String(l['raw'])}`);
    assert.equal(typeof l['pid'], 'number', JSON.stringify(l));
    if (l['role'] === 'supervisor') {
      // Every supervisor line carries the supervisor's pid; lines about a worker name it `workerPid`.
      assert.equal(l['pid'], proc.pid, JSON.stringify(l));
      if ('workerPid' in l) assert.ok(pids.concat(pidsLater()).includes(l['workerPid'] as number), JSON.stringify(l));
    } else if (l['role'] === 'dispatcher') {
      // The dispatch topology's third kind of process: the supervisor forked it, it holds no slot.
      assert.ok(!('slot' in l), JSON.stringify(l));
    } else {
      assert.equal(l['role'], 'worker', JSON.stringify(l));
      assert.ok(Number.isInteger(l['slot']) && Number.isInteger(l['generation']), JSON.stringify(l));
    }
  }

  // 2. Runtime log level through the real CLI: live workers start logging request.start (debug).
  const cli = spawnNode([CLI, 'log-level', 'debug', '--admin', admin]);
  assert.deepEqual(await cli.exited, [0, null], cli.stderr());
  assert.deepEqual(cli.logs, [{ raw: 'log level of the supervisor and all workers: info -> debug (2 live workers)' }]);
  await untilEachLogs(pids, 'debug', isRequestStart('debug'));
  assert.deepEqual((await adminCall(adminPort, 'GET', '/log-level')).body, { supervisor: 'debug', workers: 'debug', slots: {} });

  // 3. A worker spawned after the change starts at the new level.
  assert.equal((await adminCall(adminPort, 'POST', '/pool/scale', { workers: 3 })).status, 200);
  const grown = await waitPool((p) => p.ready === 3, '3 ready workers');
  const added = grown.workers.find((w) => w.pid !== null && !pids.includes(w.pid));
  assert.ok(added?.pid !== undefined && added.pid !== null);
  const addedPid = added.pid;
  // ps and /proc show its title.
  assert.equal(readFileSync(`/proc/${addedPid}/cmdline`, 'utf8').replace(/[\0 ]+$/, ''), `m2pool worker ${added.slot} gen 0`);
  await untilEachLogs([addedPid], 'late', isRequestStart('late'));
  // The configuration it was started with, as it logs it on ready (a booting worker is sent no level message, so
  // this is the handed-over one); its request lines came later on the same stream, so the line is in.
  const readyLine = fromWorker(addedPid, (l) => l['event'] === 'worker.ready')[0];
  assert.equal((readyLine?.['config'] as { logLevel?: unknown } | undefined)?.logLevel, 'debug', JSON.stringify(readyLine));

  // 4. Quieter, then back: no request line is logged while the level is warn.
  const put = (body: unknown): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: adminPort, method: 'PUT', path: '/log-level', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  assert.equal(await put({ level: 'warn' }), 200);
  await appliedByEveryWorker();
  for (let i = 0; i < 30; i++) assert.equal((await rawRequest(m2.port, { path: `/echo/quiet-${i}` })).status, 200);
  assert.equal(await put({ level: 'loud' }), 400);
  assert.equal(await put({ level: 'info' }), 200);
  const all = [...pids, addedPid];
  // Each process writes its lines in order: once each logged a later line, any quiet line would be there.
  await untilEachLogs(all, 'loud', isRequest('loud'));
  assert.deepEqual(proc.logs.filter((l) => String(l['path']).startsWith('/echo/quiet-')), []);
  assert.deepEqual(proc.logs.filter((l) => l['event'] === 'pool.log-level').map((l) => [l['previous'], l['level'], l['source']]), [
    ['info', 'debug', 'admin'],
    ['debug', 'warn', 'admin'],
    ['warn', 'info', 'admin'],
  ]);

  // 5. Reload, a SIGKILL, and a stop: the lifecycle events operators grep for.
  assert.equal((await adminCall(adminPort, 'POST', '/pool/reload')).status, 202);
  await proc.waitForLog((l) => l['event'] === 'pool.reload' && l['outcome'] === 'complete', 30_000);
  const gen1 = await waitPool((p) => p.ready === 3 && p.workers.every((w) => w.generation === 1), 'generation 1 ready');
  for (const w of gen1.workers) {
    await proc.waitForLog((l) => l['role'] === 'worker' && l['pid'] === w.pid && l['event'] === 'worker.ready', 10_000);
    assert.ok(fromWorker(w.pid ?? -1).every((l) => l['generation'] === 1 && l['slot'] === w.slot));
  }
  const victim = gen1.workers[0]?.pid ?? -1;
  process.kill(victim, 'SIGKILL');
  const killed = await proc.waitForLog((l) => l['event'] === 'worker.exit' && l['workerPid'] === victim, 10_000);
  assert.deepEqual([killed['role'], killed['signal'], killed['expected'], killed['level']], ['supervisor', 'SIGKILL', false, 50]);
  await waitPool((p) => p.ready === 3 && p.workers.every((w) => w.pid !== victim), 'the killed worker replaced');
  assert.deepEqual(await proc.stop(), [0, null]);

  const events = new Set(proc.logs.flatMap((l) => (typeof l['event'] === 'string' ? [l['event']] : [])));
  const lifecycle = ['pool.start', 'admin.listen', 'worker.spawn', 'worker.ready', 'pool.ready', 'pool.log-level', 'pool.scale', 'pool.reload', 'worker.drain', 'worker.stop', 'worker.exit', 'pool.stop'];
  for (const name of [...lifecycle, 'request.start']) assert.ok(events.has(name), `no ${name} event; saw ${[...events].join(', ')}`);
  for (const l of proc.logs) if (lifecycle.includes(String(l['event']))) assert.equal(l['msg'], l['event'], JSON.stringify(l));
  const stopped = proc.logs.filter((l) => l['event'] === 'pool.stop').map((l) => l['outcome']);
  assert.deepEqual([stopped[0], stopped.at(-1)], ['started', 'stopped']);
  // Mongrel2 stayed up throughout: a worker stopping on its own must not report it lost.
  assert.ok(!events.has('link.lost'), 'link.lost logged although Mongrel2 never went away');
  // Every event name seen is in the documentation's table.
  const documented = new Set([...readFileSync(LOGGING_DOC, 'utf8').matchAll(/^\| `([a-z0-9.:-]+)` \|/gm)].map((m) => m[1]));
  for (const name of events) assert.ok(documented.has(name), `event ${name} is not documented in deploy/LOGGING.md`);
  t.diagnostic(`${proc.logs.length} log lines; events: ${[...events].sort().join(', ')}`);
});
