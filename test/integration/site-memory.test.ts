/**
 * `examples/site` without Redis: under `m2pool serve` (node:http front) a multipart upload is parsed like behind
 * Mongrel2, and in a pool of two workers the memory session store says in the log that the workers do not share it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { rawRequest } from '../helpers/http-client';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { multipartBody } from '../helpers/multipart';
import { startCliPool } from '../helpers/pool';
import { REPO_ROOT } from '../helpers/processes';
import { startServe } from '../helpers/serve';

const SITE_APP = path.join(REPO_ROOT, 'examples/site');

/**
 * POST `body` with chunked coding (no Content-Length, so only counting can refuse it) in 64 KiB writes, and resolve
 * with the status as soon as a response arrives — an early 413 included — or 0 when the connection is reset first
 * (the server closes after an early answer while the client is still writing, which may destroy the answer).
 */
function postChunked(port: number, urlPath: string, contentType: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, method: 'POST', headers: { 'content-type': contentType } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(0) : reject(err)));
    let offset = 0;
    const pump = (): void => {
      while (offset < body.length) {
        const piece = body.subarray(offset, offset + 65_536);
        offset += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

test('m2pool serve: POST /form parses a 2 MB multipart body (spooled to a temp file); the memory store does not warn outside a pool', { timeout: 60_000 }, async (t) => {
  const serve = await startServe(SITE_APP, ['--log-level', 'info', '--max-body-bytes', String(3 * 1024 * 1024)]);
  t.after(() => serve.proc.stop());
  const file = randomBytes(2 * 1024 * 1024);
  const { body, contentType } = multipartBody([{ name: 'k', value: 'v' }, { name: 'f', filename: 'f.bin', data: file }]);
  const res = await rawRequest(serve.port, { method: 'POST', path: '/form', headers: [['Content-Type', contentType]], body }, { timeoutMs: 30_000 });
  assert.equal(res.status, 200, res.body.toString());
  assert.deepEqual(JSON.parse(res.body.toString()), { fields: { k: 'v' }, files: [{ field: 'f', filename: 'f.bin', size: file.length, sha256: createHash('sha256').update(file).digest('hex') }] });
  const tooBig = multipartBody([{ name: 'f', filename: 'big.bin', data: randomBytes(4 * 1024 * 1024) }]);
  const refused = await postChunked(serve.port, '/form', tooBig.contentType, tooBig.body);
  assert.ok(refused === 413 || refused === 0, `a chunked multipart body past --max-body-bytes is refused while it is spooled (got ${refused})`);
  const line = await serve.proc.waitForLog((l) => l['event'] === 'serve.body.too-large');
  assert.equal(line['limit'], 3 * 1024 * 1024);
  const visits = await rawRequest(serve.port, { path: '/visits' });
  assert.equal(visits.body.toString(), '1');
  assert.equal(serve.proc.logs.some((l) => l['event'] === 'session.store.unshared'), false);
});

test('a pool of 2 workers on the memory store logs session.store.unshared when sessions are first used', { timeout: 60_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const pool = await startCliPool(m2, ['--workers', '2'], { app: SITE_APP });
  t.after(() => pool.stop());
  assert.equal(pool.proc.logs.some((l) => l['event'] === 'session.store.unshared'), false, 'nothing before a session is used');
  assert.equal((await rawRequest(m2.port, { path: '/visits' })).status, 200);
  const line = await pool.proc.waitForLog((l) => l['event'] === 'session.store.unshared');
  assert.equal(line['level'], 40);
  assert.ok(Number(line['maxWorkers']) > 1, 'the pool may run more than one worker (its maxWorkers)');
});
