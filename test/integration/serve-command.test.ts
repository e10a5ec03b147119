/**
 * `m2pool serve` as a process: SIGTERM drains (the in-flight request is answered, then exit 0), and an app that
 * does not load is exit 4 with the reason. The app's start hooks run before it listens (a failing one is exit 3),
 * its stop hooks after the drain.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { HttpConnection, buildRequest } from '../helpers/http-client';
import { CLI, HELLO_APP, REPO_ROOT, spawnNode } from '../helpers/processes';
import { startServe } from '../helpers/serve';

test('SIGTERM: the request in flight is answered, then m2pool serve exits 0', { timeout: 20_000 }, async (t) => {
  const { proc, port } = await startServe(HELLO_APP, ['--log-level', 'trace']);
  t.after(() => proc.stop());
  const conn = await HttpConnection.open(port);
  t.after(() => conn.close());
  conn.send(buildRequest({ path: '/slow?ms=500' }));
  await proc.waitForLog((l) => l['event'] === 'serve.request' && l['url'] === '/slow?ms=500');
  proc.signal('SIGTERM');
  const res = await conn.read();
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'slept 500 ms\n');
  assert.deepEqual(await proc.exited, [0, null]);
  assert.equal((await proc.waitForLog((l) => l['event'] === 'serve.stop'))['inFlight'], 1);
});

test('an app that does not load: exit 4 with the reason, nothing listens', { timeout: 15_000 }, async () => {
  const proc = spawnNode([CLI, 'serve', '--http', '127.0.0.1:0', '--app', './nope.js']);
  try {
    assert.deepEqual(await proc.exited, [4, null]);
    assert.match(proc.stderr(), /m2pool serve: cannot find app module "\.\/nope\.js"/);
    assert.equal(proc.logs.some((l) => l['event'] === 'serve.ready'), false);
  } finally {
    await proc.stop();
  }
});

const HOOKS_APP = path.join(REPO_ROOT, 'dist/test/fixtures/hooks-app.js');

test('start hooks run before serve listens, stop hooks after the drain', { timeout: 20_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2serve-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'events.log');
  const lines = async (): Promise<string[]> => (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '').map((l) => l.slice(l.indexOf(' ') + 1));
  const { proc, port } = await startServe(HOOKS_APP, [], { HOOKS_APP_EVENTS: file });
  t.after(() => proc.stop());
  assert.deepEqual(await lines(), ['start-begin', 'start-done']);
  const conn = await HttpConnection.open(port);
  t.after(() => conn.close());
  conn.send(buildRequest({ path: '/state', headers: [['X-Request-Id', 'serve-1']] }));
  const res = await conn.read();
  assert.deepEqual(JSON.parse(res.body.toString()), { started: true, requestId: 'serve-1' });
  assert.equal(res.header('x-request-id'), 'serve-1');
  proc.signal('SIGTERM');
  assert.deepEqual(await proc.exited, [0, null]);
  assert.deepEqual(await lines(), ['start-begin', 'start-done', 'finish /state response 200', 'stop-closed']);
});

test('a failing start hook: exit 3 with the reason, nothing listens', { timeout: 15_000 }, async () => {
  const proc = spawnNode([CLI, 'serve', '--http', '127.0.0.1:0', '--app', HOOKS_APP], { env: { HOOKS_APP_START: 'fail' } });
  try {
    assert.deepEqual(await proc.exited, [3, null]);
    assert.match(proc.stderr(), /m2pool serve: start hook #1 failed: database unreachable/);
    assert.equal(proc.logs.some((l) => l['event'] === 'serve.ready'), false);
  } finally {
    await proc.stop();
  }
});

test('--log-format pretty: lines for a person (pino-pretty), not JSON', { timeout: 20_000 }, async (t) => {
  const proc = spawnNode([CLI, 'serve', '--http', '127.0.0.1:0', '--app', HELLO_APP, '--log-format', 'pretty']);
  t.after(() => proc.stop());
  const ready = await proc.waitForLog((l) => typeof l['raw'] === 'string' && / serve\.ready$/.test(l['raw']));
  assert.match(String(ready['raw']), /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(\d+\): serve\.ready$/);
  assert.deepEqual(proc.logs.filter((l) => l['raw'] === undefined), [], 'JSON lines');
});
