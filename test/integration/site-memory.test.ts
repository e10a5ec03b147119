/**
 * `examples/site` without Redis: under `m2pool serve` (node:http front) a multipart upload is parsed like behind
 * Mongrel2, and in a pool of two workers the memory session store says in the log that the workers do not share it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { rawRequest } from '../helpers/http-client';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { multipartBody } from '../helpers/multipart';
import { startPool } from '../helpers/pool';
import { REPO_ROOT } from '../helpers/processes';
import { startServe } from '../helpers/serve';

const SITE_APP = path.join(REPO_ROOT, 'examples/site');

test('m2pool serve: POST /form parses a 2 MB multipart body; the memory store does not warn outside a pool', { timeout: 60_000 }, async (t) => {
  const serve = await startServe(SITE_APP, ['--log-level', 'info']);
  t.after(() => serve.proc.stop());
  const file = randomBytes(2 * 1024 * 1024);
  const { body, contentType } = multipartBody([{ name: 'k', value: 'v' }, { name: 'f', filename: 'f.bin', data: file }]);
  const res = await rawRequest(serve.port, { method: 'POST', path: '/form', headers: [['Content-Type', contentType]], body }, { timeoutMs: 30_000 });
  assert.equal(res.status, 200, res.body.toString());
  assert.deepEqual(JSON.parse(res.body.toString()), { fields: { k: 'v' }, files: [{ field: 'f', filename: 'f.bin', size: file.length, sha256: createHash('sha256').update(file).digest('hex') }] });
  const visits = await rawRequest(serve.port, { path: '/visits' });
  assert.equal(visits.body.toString(), '1');
  assert.equal(serve.proc.logs.some((l) => l['event'] === 'session.store.unshared'), false);
});

test('a pool of 2 workers on the memory store logs session.store.unshared when sessions are first used', { timeout: 60_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const pool = await startPool(m2, ['--workers', '2'], { app: SITE_APP });
  t.after(() => pool.stop());
  assert.equal(pool.proc.logs.some((l) => l['event'] === 'session.store.unshared'), false, 'nothing before a session is used');
  assert.equal((await rawRequest(m2.port, { path: '/visits' })).status, 200);
  const line = await pool.proc.waitForLog((l) => l['event'] === 'session.store.unshared');
  assert.equal(line['level'], 40);
  assert.ok(Number(line['maxWorkers']) > 1, 'the pool may run more than one worker (its maxWorkers)');
});
