import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../src/config/validate';
import { dispatcherSpawnRequest, spawnRequest, workerEnvironment } from '../../../src/supervisor/spawn';

test("a worker's environment keeps the app's variables and drops every M2POOL_* one, the admin token first", () => {
  const env = workerEnvironment(
    { PATH: '/bin', DATABASE_URL: 'postgres://db', M2POOL_ADMIN_TOKEN: 'secret', M2POOL_ADMIN_TOKEN_FILE: '/run/tok', M2POOL_METRICS_TOKEN: 'm', M2POOL_WORKERS: '4', UNSET: undefined },
    { M2POOL_WORKER_SLOT: '1', M2POOL_WORKER_GENERATION: '0' },
  );
  assert.deepEqual(env, { PATH: '/bin', DATABASE_URL: 'postgres://db', M2POOL_WORKER_SLOT: '1', M2POOL_WORKER_GENERATION: '0' });
});

test('a pool with logFormat pretty hands M2POOL_LOG_FORMAT to its workers and its dispatcher; json hands nothing', () => {
  const pretty = validateConfig({ app: 'a', logFormat: 'pretty' });
  assert.equal(spawnRequest(pretty, 0, 0).env['M2POOL_LOG_FORMAT'], 'pretty');
  assert.equal(dispatcherSpawnRequest(pretty, 0).env['M2POOL_LOG_FORMAT'], 'pretty');
  const json = validateConfig({ app: 'a' });
  assert.equal(json.logFormat, 'json');
  assert.equal('M2POOL_LOG_FORMAT' in spawnRequest(json, 0, 0).env, false);
});
