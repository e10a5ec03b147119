/**
 * Issue 18, item 8: pm2 stops the dispatcher it runs. `pm2 stop m2pool-dispatcher`, `pm2 restart
 * m2pool-dispatcher` and `npm stop` send SIGINT; the dispatcher used to leave it to "its supervisor" (pm2's IPC
 * channel looked like one) and pm2 SIGKILLed it after kill_timeout (45 s). Now each signal drains it and it exits
 * by itself: its last log line is `dispatcher.exit` (a SIGKILLed process writes none). Then `npm stop` (the script
 * of package.json, run by npm) leaves no m2pool process; what it does leave (pm2's own daemon, the run directory
 * with inert socket files) is asserted here and named in the README.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { rawRequest } from '../helpers/http-client';
import { startEcosystem, type Pm2Ecosystem } from '../helpers/pm2';
import { REPO_ROOT, waitForExit } from '../helpers/processes';
import { isAlive, waitFor } from '../helpers/wait-for';

const run = promisify(execFile);

/** The dispatcher's log lines (pino JSON on stdout, which pm2 writes to its out log) of process `pid`. */
async function dispatcherLog(eco: Pm2Ecosystem, pid: number): Promise<Array<Record<string, unknown>>> {
  // pm2 names it after the app and its pm_id: m2pool-dispatcher-out-1.log.
  const dir = path.join(String(eco.env['PM2_HOME']), 'logs');
  const files = (await readdir(dir)).filter((f) => /^m2pool-dispatcher-out(-\d+)?\.log$/.test(f));
  const text = (await Promise.all(files.map((f) => readFile(path.join(dir, f), 'utf8')))).join('\n');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l['pid'] === pid);
}

/** The dispatcher's pid as pm2 reports it (0 while it is not running). */
async function dispatcherPid(eco: Pm2Ecosystem): Promise<number> {
  return (await eco.jlist('m2pool-dispatcher'))[0]?.pid ?? 0;
}

/** Assert that `pid` stopped gracefully on pm2's signal: a stop line naming the signal, then the exit line. */
async function assertStoppedBySignal(eco: Pm2Ecosystem, pid: number): Promise<void> {
  assert.equal(isAlive(pid), false, 'pm2 returned once the dispatcher was gone');
  const log = await dispatcherLog(eco, pid);
  const stop = log.find((l) => l['event'] === 'dispatcher.stop');
  assert.equal(stop?.['reason'], 'SIGINT', `the dispatcher began its drain on pm2's SIGINT: ${JSON.stringify(log.slice(-3))}`);
  assert.equal(log.at(-1)?.['msg'], 'dispatcher.exit', 'it drained and exited by itself (pm2 did not SIGKILL it)');
  assert.equal(log.some((l) => l['event'] === 'dispatcher.signal.deferred'), false);
}

test('pm2 stop / restart of the dispatcher drain it and it exits by itself; npm stop leaves no m2pool process', { timeout: 180_000 }, async (t) => {
  const eco = await startEcosystem();
  t.after(() => eco.stop());
  const served = async (): Promise<void> => {
    await waitFor(async () => ((await rawRequest(eco.httpPort, { path: '/echo/pm2' }, { timeoutMs: 2_000 }).catch(() => undefined))?.status === 200 ? true : undefined), {
      what: 'the site to answer',
      timeoutMs: 30_000,
    });
  };
  await served();

  const first = await dispatcherPid(eco);
  await eco.pm2('stop', 'm2pool-dispatcher');
  await assertStoppedBySignal(eco, first);

  await eco.pm2('start', 'm2pool-dispatcher');
  const second = await waitFor(async () => {
    const pid = await dispatcherPid(eco);
    return pid !== 0 && pid !== first ? pid : undefined;
  }, { what: 'pm2 to start the dispatcher again' });
  await served();
  await eco.pm2('restart', 'm2pool-dispatcher');
  await assertStoppedBySignal(eco, second);
  const third = await waitFor(async () => {
    const pid = await dispatcherPid(eco);
    return pid !== 0 && pid !== second ? pid : undefined;
  }, { what: 'pm2 to restart the dispatcher' });
  await served();

  // `npm stop`, exactly as a user runs it (package.json's script, against this test's PM2_HOME).
  const pool = await eco.pool();
  const mongrel2Pid = Number((await readFile(path.join(eco.env.M2POOL_RUN_DIR, 'run', 'mongrel2.pid'), 'utf8')).trim());
  const m2poolPids = [pool.pid, ...pool.workers.map((w) => w.pid), third, mongrel2Pid, ...(await eco.jlist('m2pool-mongrel2')).map((p) => p.pid)];
  await run('npm', ['stop'], { cwd: REPO_ROOT, env: eco.env, timeout: 120_000 });
  await assertStoppedBySignal(eco, third);
  await waitForExit(m2poolPids, 10_000);

  // What `npm stop` leaves, as the README says: pm2's daemon (it may run other apps: `npx pm2 kill` stops it) and
  // the run directory: Mongrel2's compiled config, logs and upload directory, and the ipc socket files (Mongrel2's
  // handler and control sockets; the dispatcher removes its own socket file when it stops). Those are inert:
  // nothing listens on them, and the next start binds over them. No pid file.
  const daemonPid = Number((await readFile(path.join(String(eco.env['PM2_HOME']), 'pm2.pid'), 'utf8')).trim());
  assert.equal(isAlive(daemonPid), true, 'pm2 delete leaves the pm2 daemon running');
  assert.deepEqual(await eco.jlist('m2pool'), []);
  const runDir = eco.env.M2POOL_RUN_DIR;
  t.diagnostic(`left in the run directory: ${JSON.stringify((await readdir(runDir)).sort())}, in its run/: ${JSON.stringify((await readdir(path.join(runDir, 'run'))).sort())}`);
  // Mongrel2 removes its pid file when it exits in time; one pm2 had to SIGKILL (its kill_timeout, on a loaded
  // machine) stays behind, naming a dead process, and the next start removes it (src/mongrel2/launcher.ts).
  const left = (await readdir(path.join(runDir, 'run'))).sort();
  if (left.includes('mongrel2.pid')) {
    const stalePid = Number((await readFile(path.join(runDir, 'run', 'mongrel2.pid'), 'utf8')).trim());
    assert.equal(isAlive(stalePid), false, 'a pid file left behind names no live process');
  }
  assert.deepEqual(left.filter((f) => f !== 'mongrel2.pid'), ['control', 'replies', 'requests'], 'only Mongrel2\'s socket files are left');
  assert.deepEqual((await readdir(runDir)).sort(), ['config.sqlite', 'logs', 'mongrel2.conf', 'run', 'tmp']);
});
