/**
 * Defaults that work: `m2pool mongrel2 --config deploy/mongrel2/mongrel2.conf` and `m2pool worker` (or `start`) with no
 * endpoint flags, run from the same directory, meet on the shipped config's ipc sockets; while Mongrel2 is not
 * there yet, the worker warns every few seconds (shortened here) naming the endpoints it waits on.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { rawRequest } from '../helpers/http-client';
import { freePort } from '../helpers/ports';
import { CLI, REPO_ROOT, spawnNode } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

test('a worker without endpoint flags warns while no Mongrel2 answers, then serves through the shipped config', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-defaults-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const worker = spawnNode([CLI, 'worker', '--app', path.join(REPO_ROOT, 'examples/hono'), '--boot-timeout-ms', '45000'], { cwd: dir, env: { M2POOL_WAITING_WARNING_MS: '200' } });
  t.after(() => worker.stop());
  const warning = await worker.waitForLog((l) => l['event'] === 'worker.waiting');
  const requests = `ipc://${dir}/run/mongrel2/run/requests`;
  assert.deepEqual(warning['waitingFor'], [`${requests} -> ipc://${dir}/run/mongrel2/run/replies`]);
  assert.match(String(warning['msg']), /no answer yet from ipc:\/\/.*run\/requests/);

  const port = await freePort();
  const mongrel2 = spawnNode([CLI, 'mongrel2', '--config', path.join(REPO_ROOT, 'deploy/mongrel2/mongrel2.conf'), '--port', String(port)], { cwd: dir });
  t.after(() => mongrel2.stop());
  await worker.waitForLog((l) => l['msg'] === 'worker.ready', 30_000);
  const res = await waitFor(async () => {
    const r = await rawRequest(port, { path: '/hello/defaults' }).catch(() => undefined);
    return r?.status === 200 ? r : undefined;
  }, { timeoutMs: 15_000, what: 'the site to answer' });
  assert.equal(res.body.toString(), 'hello defaults');
});

test('m2pool start without endpoint flags (dispatch topology) serves through `m2pool mongrel2` with the shipped config', { timeout: 90_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-defaults-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const [port, adminPort] = [await freePort(), await freePort()];
  const mongrel2 = spawnNode([CLI, 'mongrel2', '--config', path.join(REPO_ROOT, 'deploy/mongrel2/mongrel2.conf'), '--port', String(port)], { cwd: dir });
  t.after(() => mongrel2.stop());
  const pool = spawnNode([CLI, 'start', '--app', path.join(REPO_ROOT, 'examples/express'), '--workers', '1', '--admin', `127.0.0.1:${adminPort}`], { cwd: dir });
  t.after(() => pool.stop());
  await pool.waitForLog((l) => l['event'] === 'pool.ready', 60_000);
  const res = await waitFor(async () => {
    const r = await rawRequest(port, { path: '/hello/pool' }).catch(() => undefined);
    return r?.status === 200 ? r : undefined;
  }, { timeoutMs: 15_000, what: 'the site to answer' });
  assert.equal(res.body.toString(), 'hello pool');
});
