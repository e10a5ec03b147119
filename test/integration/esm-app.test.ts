/**
 * An ES module app with top-level await (test/fixtures/esm-app.mjs, which `require` cannot load) served by a
 * worker behind a real Mongrel2, by `m2pool serve`, and accepted by `m2pool start`'s --app check.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { rawRequest } from '../helpers/http-client';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { REPO_ROOT, startWorker } from '../helpers/processes';
import { startServe } from '../helpers/serve';
import { appLoadProblem } from '../../src/supervisor/reload/app-load-check';

const ESM_APP = path.join(REPO_ROOT, 'test/fixtures/esm-app.mjs');

test('a worker behind Mongrel2 serves the ES module app', { timeout: 30_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const worker = await startWorker(ESM_APP, m2.workerArgs());
  t.after(() => worker.stop());
  const res = await rawRequest(m2.port, { path: '/' });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'hello from esm');
});

test('m2pool serve serves the ES module app', { timeout: 20_000 }, async (t) => {
  const { proc, port } = await startServe(ESM_APP);
  t.after(() => proc.stop());
  const res = await rawRequest(port, { path: '/' });
  assert.equal(res.body.toString(), 'hello from esm');
});

test("m2pool start's check loads it in a child (and refuses the broken one)", { timeout: 20_000 }, async () => {
  assert.equal(await appLoadProblem(ESM_APP, REPO_ROOT), undefined);
  assert.match((await appLoadProblem('./test/fixtures/broken-app.mjs', REPO_ROOT)) ?? '', /broken on purpose/);
});

test("the start check takes --app-kind: the Hono example loads as fetch (and auto), not as node", { timeout: 20_000 }, async () => {
  assert.equal(await appLoadProblem('./examples/hono', REPO_ROOT), undefined);
  assert.equal(await appLoadProblem('./examples/hono', REPO_ROOT, 20_000, 'fetch'), undefined);
  assert.match((await appLoadProblem('./examples/hono', REPO_ROOT, 20_000, 'node')) ?? '', /exports no app: .*node:http request listener/);
});
