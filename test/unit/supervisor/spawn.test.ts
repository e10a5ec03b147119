import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerEnvironment } from '../../../src/supervisor/spawn';

test("a worker's environment keeps the app's variables and drops every M2POOL_* one, the admin token first", () => {
  const env = workerEnvironment(
    { PATH: '/bin', DATABASE_URL: 'postgres://db', M2POOL_ADMIN_TOKEN: 'secret', M2POOL_ADMIN_TOKEN_FILE: '/run/tok', M2POOL_METRICS_TOKEN: 'm', M2POOL_WORKERS: '4', UNSET: undefined },
    { M2POOL_WORKER_SLOT: '1', M2POOL_WORKER_GENERATION: '0' },
  );
  assert.deepEqual(env, { PATH: '/bin', DATABASE_URL: 'postgres://db', M2POOL_WORKER_SLOT: '1', M2POOL_WORKER_GENERATION: '0' });
});
