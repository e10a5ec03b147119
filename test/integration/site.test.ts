/**
 * The page example (`examples/site`, issue 21 items 4–9) under `m2pool start` against a real Mongrel2 and a real
 * redis-server: a 5 MB multipart upload through Mongrel2's async-upload path (its temp file parsed from disk) with
 * its SHA-256 checked, a session counter that counts across both workers of the pool on Redis, login with session
 * regeneration, the private page with a `<script>` user name escaped, and a tampered session cookie refused.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rawRequest, type RawResponse } from '../helpers/http-client';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { multipartBody } from '../helpers/multipart';
import { settled, startCliPool, type TestPool } from '../helpers/pool';
import { REPO_ROOT } from '../helpers/processes';
import { startTestRedis, type TestRedis } from '../helpers/redis';
import { waitFor } from '../helpers/wait-for';

const SITE_APP = path.join(REPO_ROOT, 'examples/site');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function cookieOf(res: RawResponse): string {
  const set = res.headers['set-cookie']?.[0];
  assert.ok(set, 'a Set-Cookie header');
  return set.split(';')[0] as string;
}

describe('examples/site on a pool of 2 workers, Redis sessions (real Mongrel2, real redis-server)', { timeout: 120_000 }, () => {
  let redis: TestRedis;
  let m2: TestMongrel2;
  let pool: TestPool;

  before(async () => {
    redis = await startTestRedis();
    m2 = await startTestMongrel2();
    // The dispatch topology: between idle workers of equal credit the dispatcher picks the one idle longest, so
    // consecutive requests of one client (each on a new connection: no affinity) alternate between the two.
    pool = await startCliPool(
      m2,
      ['--workers', '2', '--upload-store', path.join(m2.uploadDir, 'upload.XXXXXX'), '--upload-threshold', '20480', '--request-log-level', 'info'],
      { app: SITE_APP, env: { REDIS_URL: redis.url } },
    );
    await pool.waitPool(settled(2), 'both workers ready');
  });
  after(async () => {
    await pool?.stop();
    await m2?.stop();
    await redis?.stop();
  });

  test('POST /form: a 5 MB file over limits.content_length (async upload) comes back with its size and SHA-256', async () => {
    const file = randomBytes(5 * 1024 * 1024);
    const small = Buffer.from('small file');
    const { body, contentType } = multipartBody([
      { name: 'title', value: 'five megabytes' },
      { name: 'big', filename: 'big.bin', data: file },
      { name: 'small', filename: 'small.txt', data: small, type: 'text/plain' },
    ]);
    assert.ok(body.length > 20480, 'above limits.content_length: Mongrel2 writes it to a temp file');
    const res = await rawRequest(m2.port, { method: 'POST', path: '/form', headers: [['Content-Type', contentType]], body }, { timeoutMs: 60_000 });
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(JSON.parse(res.body.toString()), {
      fields: { title: 'five megabytes' },
      files: [
        { field: 'big', filename: 'big.bin', size: file.length, sha256: sha256(file) },
        { field: 'small', filename: 'small.txt', size: small.length, sha256: sha256(small) },
      ],
    });
    // The worker removes Mongrel2's temp file after the request.
    await waitFor(async () => (await readdir(m2.uploadDir)).length === 0, { what: 'the upload temp file removed' });
  });

  test('POST /form: a small multipart body (in memory) answers the same contract', async () => {
    const { body, contentType } = multipartBody([{ name: 'a', value: '1' }, { name: 'f', filename: 'f.txt', data: Buffer.from('hi') }]);
    const res = await rawRequest(m2.port, { method: 'POST', path: '/form', headers: [['Content-Type', contentType]], body });
    assert.deepEqual(JSON.parse(res.body.toString()), { fields: { a: '1' }, files: [{ field: 'f', filename: 'f.txt', size: 2, sha256: sha256(Buffer.from('hi')) }] });
  });

  test('GET /visits counts 1..6 for one client across both workers (sessions in Redis)', async () => {
    const first = await rawRequest(m2.port, { path: '/visits' });
    assert.equal(first.body.toString(), '1');
    const cookie = cookieOf(first);
    for (let n = 2; n <= 6; n++) {
      const res = await rawRequest(m2.port, { path: '/visits', headers: [['Cookie', cookie]] });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), String(n));
    }
    // Which worker answered each request: the per-request log lines carry the worker's slot.
    const slots = new Set<unknown>();
    await waitFor(() => {
      for (const l of pool.proc.logs) if (l['msg'] === 'request' && l['route'] === '/visits') slots.add(l['slot']);
      return slots.size >= 2;
    }, { what: 'request log lines of /visits from both workers' });
    assert.deepEqual([...slots].sort(), [0, 1]);
    const keys = await redis.command('DBSIZE');
    assert.match(keys, /^:[1-9]\d*$/, 'the session is in Redis');
  });

  test('a tampered session cookie is refused: the count starts again at 1', async () => {
    const first = await rawRequest(m2.port, { path: '/visits' });
    const cookie = cookieOf(first);
    await rawRequest(m2.port, { path: '/visits', headers: [['Cookie', cookie]] });
    const tampered = cookie.replace(/\.(.)/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`);
    const res = await rawRequest(m2.port, { path: '/visits', headers: [['Cookie', tampered]] });
    assert.equal(res.body.toString(), '1');
    const genuine = await rawRequest(m2.port, { path: '/visits', headers: [['Cookie', cookie]] });
    assert.equal(genuine.body.toString(), '3');
  });

  test('/private: 401, then login (session regenerated), then the page with the user name HTML-escaped', async () => {
    assert.equal((await rawRequest(m2.port, { path: '/private' })).status, 401);
    const visit = await rawRequest(m2.port, { path: '/visits' });
    const before = cookieOf(visit);
    const user = '<script>alert("x")</script>';
    const login = await rawRequest(m2.port, {
      method: 'POST',
      path: '/login',
      headers: [['Content-Type', 'application/x-www-form-urlencoded'], ['Cookie', before]],
      body: new URLSearchParams({ user }).toString(),
    });
    assert.equal(login.status, 200, login.body.toString());
    const after = cookieOf(login);
    const id = (cookie: string): string => (cookie.split('=')[1] as string).split('.')[0] as string;
    assert.notEqual(id(after), id(before), 'a new session id at login');
    assert.equal((await rawRequest(m2.port, { path: '/private', headers: [['Cookie', before]] })).status, 401, 'the pre-login id is gone');
    const page = await rawRequest(m2.port, { path: '/private', headers: [['Cookie', after]] });
    assert.equal(page.status, 200);
    assert.equal(page.header('content-type'), 'text/html; charset=utf-8');
    const html = page.body.toString();
    assert.ok(html.includes('&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;'), html);
    assert.ok(!html.includes('<script>'), 'no raw script tag');
    // The session kept its data through regeneration.
    assert.equal((await rawRequest(m2.port, { path: '/visits', headers: [['Cookie', after]] })).body.toString(), '2');
  });
});
