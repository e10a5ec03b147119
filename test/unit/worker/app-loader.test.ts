/**
 * `loadApp` through import(): an ES module with top-level await, the tsc-compiled example (CommonJS), and the
 * failures a user meets (missing module, a module that throws while loading, a module without an app).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FetchAdapter } from '../../../src/adapters/fetch';
import { NodeHttpAdapter } from '../../../src/adapters/node-http';
import { ErrorCode, M2PoolError } from '../../../src/errors';
import { loadApp } from '../../../src/worker/app-loader';
import { HELLO_APP, REPO_ROOT } from '../../helpers/processes';

/** Not compiled: the fixtures live in the source tree. */
const ESM_APP = path.join(REPO_ROOT, 'test/fixtures/esm-app.mjs');
const BROKEN_APP = path.join(REPO_ROOT, 'test/fixtures/broken-app.mjs');

function isAppLoadError(pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof M2PoolError && err.code === ErrorCode.APP_LOAD && pattern.test(err.message);
}

test('an ES module with top-level await loads and serves', async () => {
  const app = await loadApp(ESM_APP, REPO_ROOT);
  const res = await (app as unknown as { request(path: string): Promise<{ status: number; text(): string }> }).request('/');
  assert.equal(res.status, 200);
  assert.equal(res.text(), 'hello from esm');
});

test('the tsc-compiled CommonJS example loads, by directory and by relative path', async () => {
  assert.equal(typeof (await loadApp(HELLO_APP, REPO_ROOT)).dispatch, 'function');
  assert.equal(typeof (await loadApp('./examples/hello', REPO_ROOT)).dispatch, 'function');
});

test('a missing module, a module that throws, and a module without an app are APP_LOAD errors', async () => {
  await assert.rejects(loadApp('./nope.js', REPO_ROOT), isAppLoadError(/cannot find app module "\.\/nope\.js"/));
  await assert.rejects(loadApp(BROKEN_APP, REPO_ROOT), isAppLoadError(/failed to load: broken on purpose/));
  const dir = mkdtempSync(path.join(tmpdir(), 'm2pool-loader-'));
  try {
    writeFileSync(path.join(dir, 'empty.cjs'), 'module.exports = { notAnApp: 1 };\n');
    await assert.rejects(loadApp('./empty.cjs', dir), isAppLoadError(/exports no app/));
    writeFileSync(path.join(dir, 'default.mjs'), "export default { dispatch: async () => ({}) };\n");
    assert.equal(typeof (await loadApp('./default.mjs', dir)).dispatch, 'function');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Hono and Express examples load as fetch and node apps; an explicit --app-kind refuses the other shape', async () => {
  assert.ok((await loadApp('./examples/hono', REPO_ROOT)) instanceof FetchAdapter);
  assert.ok((await loadApp('examples/express', REPO_ROOT, 'node')) instanceof NodeHttpAdapter);
  await assert.rejects(loadApp('./examples/hono', REPO_ROOT, 'node'), isAppLoadError(/exports no app: .*node:http request listener/));
  await assert.rejects(loadApp('./examples/express', REPO_ROOT, 'm2pool'), isAppLoadError(/exports no app: .*an m2pool App/));
});
