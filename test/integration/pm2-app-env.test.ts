/**
 * The unforked ecosystem.config.js runs your app: `M2POOL_APP` and `M2POOL_WORKERS` in the shell `pm2 start` runs
 * in reach the pool (the ecosystem passes no `--app`/`--workers` flag that would beat them). Real pm2, own PM2_HOME.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { rawRequest } from '../helpers/http-client';
import { startEcosystem } from '../helpers/pm2';
import { REPO_ROOT } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

test('M2POOL_APP=examples/hono M2POOL_WORKERS=1 pm2 start ecosystem.config.js serves the Hono app with one worker', { timeout: 120_000 }, async (t) => {
  const eco = await startEcosystem({ env: { M2POOL_APP: path.join(REPO_ROOT, 'examples/hono'), M2POOL_WORKERS: '1' } });
  t.after(() => eco.stop());
  const res = await waitFor(async () => {
    const r = await rawRequest(eco.httpPort, { path: '/hello/pm2' });
    return r.status === 200 ? r : undefined;
  }, { what: 'the Hono app through pm2' });
  assert.equal(res.body.toString(), 'hello pm2');
  assert.equal((await eco.pool()).desired, 1);
});
