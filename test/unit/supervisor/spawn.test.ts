import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../src/config/validate';
import { dispatcherArgs, dispatcherSpawnRequest, spawnRequest, workerEnvironment } from '../../../src/supervisor/arbiter/spawn';

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

test("the forked dispatcher's credit cap and request timeout follow the workers' maxInFlight and the app deadline (#18)", () => {
  const base = { app: 'a', sendSpecs: ['ipc:///tmp/q'], recvSpecs: ['ipc:///tmp/r'] };
  const flag = (args: string[], name: string): string | undefined => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args[i + 1];
  };
  const plain = dispatcherArgs(validateConfig(base));
  assert.deepEqual([flag(plain, '--max-worker-credit'), flag(plain, '--request-timeout-ms'), flag(plain, '--backlog-limit')], [undefined, undefined, undefined], 'the dispatcher defaults');
  const big = dispatcherArgs(validateConfig({ ...base, maxInFlight: 5_000, requestTimeoutMs: 45_000, backlogLimit: 5_000 }));
  assert.deepEqual([flag(big, '--max-worker-credit'), flag(big, '--request-timeout-ms'), flag(big, '--backlog-limit')], ['5000', '90000', '5000']);
  const given = dispatcherArgs(validateConfig({ ...base, maxInFlight: 5_000, maxWorkerCredit: 6_000, requestTimeoutMs: 45_000, dispatcherRequestTimeoutMs: 50_000 }));
  assert.deepEqual([flag(given, '--max-worker-credit'), flag(given, '--request-timeout-ms')], ['6000', '50000']);
});
