import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { reloadCommand, scaleCommand, statusCommand } from '../../src/cli/admin-commands';
import { startFakeWorkerPool } from '../helpers/supervisor-harness';
import { freePort } from '../helpers/ports';
import { startAdminServer } from '../../src/supervisor/control/admin-server';
import { captureCli } from '../helpers/cli-capture';

const T = { timeout: 20_000 };

test('m2pool status / scale / reload drive a running pool through the admin API', T, async (t) => {
  const h = await startFakeWorkerPool(t, { workers: 2, maxWorkers: 4, minWorkers: 1 });
  await h.waitForPool((p) => p.ready === 2, '2 ready workers');
  const admin = ['--admin', `127.0.0.1:${h.admin.address.port}`];

  const table = captureCli();
  assert.equal(await statusCommand(admin, table.deps), 0, table.err());
  assert.match(table.out(), /^pool running \(supervisor pid \d+\): desired 2, ready 2/);
  assert.match(table.out(), /^SLOT +PID +STATE +GEN/m);
  assert.match(table.out(), /^1 +\d+ +ready +0 +0 /m);

  const json = captureCli();
  assert.equal(await statusCommand([...admin, '--json'], json.deps), 0);
  assert.equal((JSON.parse(json.out()) as { desired: number }).desired, 2);

  const up = captureCli();
  assert.equal(await scaleCommand(['+1', ...admin], up.deps), 0, up.err());
  assert.equal(up.out(), 'desired workers: 2 -> 3\n');
  const down = captureCli();
  assert.equal(await scaleCommand([...admin, '--timeout', '3000', '-2'], down.deps), 0, down.err());
  assert.equal(down.out(), 'desired workers: 3 -> 1\n');
  await h.waitForPool((p) => p.workers.length === 1, 'the pool to shrink to 1');

  const tooMany = captureCli();
  assert.equal(await scaleCommand(['9', ...admin], tooMany.deps), 1);
  assert.equal(tooMany.err(), 'm2pool scale: cannot scale to 9 workers: allowed range is 1..4 (minWorkers..maxWorkers)\n');

  const reload = captureCli();
  assert.equal(await reloadCommand(admin, reload.deps), 0, reload.err());
  assert.match(reload.out(), /rolling reload to generation 1 started/);
  await h.waitForPool((p) => p.rollout === null && p.workers.length === 1 && p.workers[0]?.generation === 1, 'generation 1');
});

test('unreachable supervisor, usage errors and timeouts give clear messages and exit codes', T, async (t) => {
  const port = await freePort();
  const down = captureCli();
  assert.equal(await statusCommand(['--admin', `127.0.0.1:${port}`], down.deps), 1);
  assert.match(down.err(), /^m2pool status: cannot reach the supervisor at 127\.0\.0\.1:\d+ \(connection refused\): is 'm2pool start' running\?/);

  const usage = captureCli();
  assert.equal(await scaleCommand(['lots'], usage.deps), 2);
  assert.match(usage.err(), /expected one count N, \+N or -N/);
  const noCount = captureCli();
  assert.equal(await scaleCommand([], noCount.deps), 2);
  const badFlag = captureCli();
  assert.equal(await reloadCommand(['--bogus'], badFlag.deps), 2);
  assert.match(badFlag.err(), /Unknown option '--bogus'/);
  const badAdmin = captureCli();
  assert.equal(await statusCommand(['--admin', 'nowhere'], badAdmin.deps), 2);

  // A server that accepts but never answers: the client gives up after --timeout.
  const { createServer } = await import('node:net');
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    silent.close();
  });
  const addr = silent.address();
  const silentPort = typeof addr === 'object' && addr !== null ? addr.port : 0;
  const slow = captureCli();
  assert.equal(await statusCommand(['--admin', `127.0.0.1:${silentPort}`, '--timeout', '200'], slow.deps), 1);
  assert.match(slow.err(), /no answer from the supervisor at 127\.0\.0\.1:\d+ within 200 ms/);
});

test('the token comes from --token, --token-file, M2POOL_ADMIN_TOKEN or M2POOL_ADMIN_TOKEN_FILE', T, async (t) => {
  const target = {
    snapshot: () => {
      throw new Error('unused');
    },
    scale: () => ({ ok: true as const, previous: 1, desired: 2 }),
    reload: () => ({ ok: true as const, generation: 1 }),
    isLive: () => true,
    isReady: () => true,
  };
  const server = await startAdminServer({ target, listen: '127.0.0.1:0', token: 'tok' });
  t.after(() => server.close());
  const admin = ['--admin', `127.0.0.1:${server.address.port}`];
  const denied = captureCli();
  assert.equal(await reloadCommand(admin, denied.deps), 1);
  assert.match(denied.err(), /Authorization: Bearer/);
  const flag = captureCli();
  assert.equal(await reloadCommand([...admin, '--token', 'tok'], flag.deps), 0, flag.err());
  const env = captureCli();
  assert.equal(await scaleCommand(['2', ...admin], { ...env.deps, env: { M2POOL_ADMIN_TOKEN: 'tok' } }), 0, env.err());
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-cli-token-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'token');
  await writeFile(file, 'tok\n');
  const fromFile = captureCli();
  assert.equal(await reloadCommand([...admin, '--token-file', file], fromFile.deps), 0, fromFile.err());
  const fromEnvFile = captureCli();
  assert.equal(await reloadCommand(admin, { ...fromEnvFile.deps, env: { M2POOL_ADMIN_TOKEN_FILE: file } }), 0, fromEnvFile.err());
  const missing = captureCli();
  assert.equal(await reloadCommand([...admin, '--token-file', path.join(dir, 'nope')], missing.deps), 2);
  assert.match(missing.err(), /--token-file: cannot read .*no such file/);
});
