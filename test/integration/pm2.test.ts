/**
 * The real pm2 with the real ecosystem.config.js: start (wait_ready), serve, `pm2 trigger … scale`,
 * `pm2 trigger … status`, then delete — and no process survives. pm2 runs with its own PM2_HOME (its own
 * daemon), and the ecosystem is moved to free ports and a temp run directory through its environment knobs.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { rawRequest } from '../helpers/http-client';
import { startEcosystem } from '../helpers/pm2';
import { waitForExit } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

test('pm2 start ecosystem.config.js serves the example app; pm2 trigger scales it; pm2 delete leaves nothing behind', { timeout: 120_000 }, async (t) => {
  const eco = await startEcosystem();
  t.after(() => eco.stop());
  const { pm2, pool, httpPort, env } = eco;
  // wait_ready: pm2 start returned once the supervisor reported the minimum ready.
  assert.ok((await pool()).ready >= 1);
  const hello = await waitFor(async () => {
    const res = await rawRequest(httpPort, { path: '/echo/from-pm2' });
    return res.status === 200 ? res : undefined;
  }, { what: 'the site through pm2' });
  assert.equal(hello.body.toString(), '/echo/from-pm2');

  const { stdout: scaled } = await pm2('trigger', 'm2pool', 'scale', '3');
  assert.match(scaled, /"desired":3/);
  await waitFor(async () => (await pool()).ready === 3, { what: '3 ready workers' });
  const { stdout: status } = await pm2('trigger', 'm2pool', 'status');
  assert.match(status, /"desired":3/);
  // pm2's custom metrics (`pm2 monit`, `pm2 describe`) follow the pool: src/supervisor/control/pm2-metrics.ts.
  const monitored = await waitFor(async () => {
    const m = (await eco.jlist())[0]?.pm2_env.axm_monitor;
    return m?.['desired workers']?.value === 3 && m['ready workers']?.value === 3 ? m : undefined;
  }, { what: 'pm2 jlist axm_monitor showing 3 ready of 3 desired workers' });
  const doc3 = await pool();
  assert.equal(monitored['in flight']?.value, doc3.workers.reduce((a, w) => a + w.inFlight, 0));
  assert.equal(monitored['worker restarts']?.value, 0);
  assert.deepEqual(monitored['req/s'], { value: monitored['req/s']?.value, unit: 'req/s' });

  const { stdout: list } = await pm2('jlist');
  const pm2Pids = (JSON.parse(list) as Array<{ pid: number }>).map((p) => p.pid);
  const doc = await pool();
  const mongrel2Pid = Number((await readFile(path.join(env.M2POOL_RUN_DIR, 'run', 'mongrel2.pid'), 'utf8')).trim());
  const pids = [...pm2Pids, doc.pid, ...doc.workers.map((w) => w.pid), mongrel2Pid];
  assert.equal(new Set(pids).size, 3 + 3 + 1, 'pm2 runs `m2pool mongrel2`, the dispatcher and the supervisor; they run mongrel2 and 3 workers');
  assert.equal(doc.topology, 'dispatch');
  assert.equal(doc.dispatcher, null, 'the pool joins the dispatcher pm2 runs and forks none');

  // `npm stop`: the pool first (it drains), then the dispatcher, then Mongrel2.
  await pm2('delete', 'm2pool');
  await pm2('delete', 'm2pool-dispatcher');
  await pm2('delete', 'm2pool-mongrel2');
  await waitForExit(pids, 30_000);
});
