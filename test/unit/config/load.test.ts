import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../../src/errors';
import { loadConfig, resolveConfig } from '../../../src/config/load';
import { DEFAULTS } from '../../../src/config/schema';

async function rejection(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('precedence: CLI flags > env > file > defaults, key by key', () => {
  const c = resolveConfig({
    file: { name: 'pool.json', data: { app: 'file-app', workers: 3, maxWorkers: 10, drainTimeoutMs: 7000, restartBackoff: { initialMs: 10 } } },
    env: { M2POOL_WORKERS: '4', M2POOL_MAX_WORKERS: '12', M2POOL_RESTART_BACKOFF_MAX_MS: '900' },
    flags: { workers: '5' },
  });
  assert.equal(c.app, 'file-app');
  assert.equal(c.workers, 5);
  assert.equal(c.maxWorkers, 12);
  assert.equal(c.drainTimeoutMs, 7000);
  assert.deepEqual(c.restartBackoff, { initialMs: 10, maxMs: 900, resetAfterMs: DEFAULTS.restartBackoff.resetAfterMs });
  assert.equal(c.minWorkers, 1);
});

test('env lists are comma-separated; repeated CLI flags are lists', () => {
  const c = resolveConfig({
    env: { M2POOL_APP: 'a', M2POOL_SEND_SPECS: 'tcp://127.0.0.1:1, tcp://127.0.0.1:2', M2POOL_RECV_SPECS: 'tcp://127.0.0.1:3,tcp://127.0.0.1:4' },
  });
  assert.deepEqual(c.sendSpecs, ['tcp://127.0.0.1:1', 'tcp://127.0.0.1:2']);
  const d = resolveConfig({ flags: { app: 'a', sendSpecs: ['ipc:///tmp/s'], recvSpecs: ['ipc:///tmp/r'] } });
  assert.deepEqual([d.sendSpecs, d.recvSpecs], [['ipc:///tmp/s'], ['ipc:///tmp/r']]);
});

test('problems name the source each bad value came from, all at once', () => {
  let err: unknown;
  try {
    resolveConfig({
      file: { name: 'pool.json', data: { app: 'a', bootTimeoutMs: 'soon', colour: 'blue' } },
      env: { M2POOL_WORKERS: 'two' },
      flags: { maxWorkers: '-3' },
    });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  assert.deepEqual([...err.issues].sort(), [
    'bootTimeoutMs: must be an integer from 1 to 2147483647, got "soon" (from pool.json)',
    'colour: unknown key (from pool.json)',
    'maxWorkers: must be an integer from 1 to 1024, got -3 (from --max-workers)',
    'workers: must be an integer from 0 to 1024, got "two" (from M2POOL_WORKERS)',
  ]);
});

test('empty env vars count as unset; unrelated M2POOL_* vars are ignored', () => {
  const c = resolveConfig({ env: { M2POOL_APP: 'a', M2POOL_WORKERS: '', M2POOL_WORKER_SLOT: '3' } });
  assert.equal(c.workers, 2);
});

test('a config file that is not an object is reported alongside the other problems', () => {
  assert.throws(
    () => resolveConfig({ file: { name: 'x.json', data: [1, 2] }, env: { M2POOL_WORKERS: 'x' } }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.issues.includes('x.json: the config file must hold a JSON object') &&
      err.issues.some((i) => i.startsWith('workers:')),
  );
});

test('loadConfig reads the JSON file; a missing or malformed file is a clear ConfigError', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2pool-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const good = path.join(dir, 'pool.json');
  await writeFile(good, JSON.stringify({ app: 'from-file', workers: 3 }));
  const c = await loadConfig({ configFile: good, env: { M2POOL_WORKERS: '4' } });
  assert.deepEqual([c.app, c.workers], ['from-file', 4]);

  const missing = await rejection(loadConfig({ configFile: path.join(dir, 'nope.json') }));
  assert.match(missing.issues[0] ?? '', /nope\.json: cannot read the config file: no such file/);
  const bad = path.join(dir, 'bad.json');
  await writeFile(bad, '{"app": ');
  const malformed = await rejection(loadConfig({ configFile: bad }));
  assert.match(malformed.issues[0] ?? '', /bad\.json: not valid JSON/);
});

test('adminTokenFile (--admin-token-file, M2POOL_ADMIN_TOKEN_FILE) supplies the token; with a token too, or unreadable, it is an error', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-token-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'admin.token');
  await writeFile(file, 'a-token-of-24-characters\n');
  const viaFlag = await loadConfig({ flags: { app: 'a', admin: '0.0.0.0:9890', adminTokenFile: file } });
  assert.equal(viaFlag.adminToken, 'a-token-of-24-characters', 'the trailing newline is not part of the token');
  const viaEnv = await loadConfig({ env: { M2POOL_APP: 'a', M2POOL_ADMIN_TOKEN_FILE: file } });
  assert.equal(viaEnv.adminToken, 'a-token-of-24-characters');
  const both = await rejection(loadConfig({ env: { M2POOL_APP: 'a', M2POOL_ADMIN_TOKEN: 'tok', M2POOL_ADMIN_TOKEN_FILE: file } }));
  assert.match(both.issues.join('\n'), /adminTokenFile: give the admin token or a token file, not both/);
  const missing = await rejection(loadConfig({ flags: { app: 'a', adminTokenFile: path.join(dir, 'nope') } }));
  assert.match(missing.issues.join('\n'), /adminTokenFile: cannot read ".*nope": no such file \(from --admin-token-file\)/);
  await writeFile(file, 'short\n');
  const short = await rejection(loadConfig({ flags: { app: 'a', admin: '0.0.0.0:9890', adminTokenFile: file } }));
  assert.match(short.issues.join('\n'), /adminToken: must be at least 16 characters .*\(from the file /);
  assert.ok(!short.issues.join('\n').includes('short'), 'the token itself is never quoted');
});

test('autoscale settings come from flags, env vars and the file like every other key; ratios parse as decimals', () => {
  const c = resolveConfig({
    file: { name: 'pool.json', data: { app: 'a', autoscale: { min: 2, max: 6, tolerance: 0.2 } } },
    env: { M2POOL_AUTOSCALE_TARGET_UTILIZATION: '0.55', M2POOL_AUTOSCALE_MAX: '5' },
    flags: { 'autoscale.intervalMs': '1000', 'autoscale.cpuSaturation': '1' },
  });
  assert.deepEqual(
    [c.autoscale?.min, c.autoscale?.max, c.autoscale?.tolerance, c.autoscale?.targetUtilization, c.autoscale?.intervalMs, c.autoscale?.cpuSaturation],
    [2, 5, 0.2, 0.55, 1000, 1],
  );
  assert.throws(
    () => resolveConfig({ env: { M2POOL_APP: 'a', M2POOL_AUTOSCALE_MIN: '1', M2POOL_AUTOSCALE_MAX: '3', M2POOL_AUTOSCALE_TOLERANCE: 'lots' } }),
    (err: unknown) => err instanceof ConfigError && err.issues[0] === 'autoscale.tolerance: must be a number from 0 to 0.9, got "lots" (from M2POOL_AUTOSCALE_TOLERANCE)',
  );
});
