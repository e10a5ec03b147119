/**
 * The dispatcher's admin endpoint follows the pool admin's rules (issue 18, item 5): off loopback it refuses to
 * start without a token (exit 2, before anything binds) or with a short one; with a token, `/metrics` needs it (or
 * the metrics token) while `/healthz` and `/readyz` stay open; the token can come from a file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startTestDispatcher } from '../helpers/dispatcher';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { CLI, HELLO_APP, spawnNode } from '../helpers/processes';

const ADMIN_TOKEN = 'dispatcher-admin-token-0123456789';
const METRICS_TOKEN = 'scraper-token-abcdefghij';

test('off loopback the dispatcher admin needs a token of at least 16 characters, else it exits 2 and says why', { timeout: 20_000 }, async (t) => {
  const port = await freePort();
  const base = [CLI, 'dispatcher', '--send-spec', 'ipc:///tmp/none-req', '--recv-spec', 'ipc:///tmp/none-rep', '--bind', `ipc://${tmpdir()}/m2p-never-bound.sock`, '--admin', `0.0.0.0:${port}`];
  for (const [extra, expected] of [
    [[], /--admin-token is required when admin listens on a non-loopback address \(0\.0\.0\.0:\d+\)/],
    [['--admin-token', 'short'], /--admin-token must be at least 16 characters when admin listens on a non-loopback address \(got 5\)/],
    [['--admin-token', ADMIN_TOKEN, '--metrics-token', 'tiny'], /--metrics-token must be at least 16 characters/],
  ] as const) {
    const refused = spawnNode([...base, ...extra]);
    t.after(() => refused.stop());
    assert.deepEqual(await refused.exited, [2, null], refused.stderr());
    assert.match(refused.stderr(), expected);
    assert.equal(refused.logs.find((l) => l['event'] === 'dispatcher.start'), undefined, 'nothing started');
  }
});

test('with a token (from a file) /metrics needs it or the metrics token; /healthz and /readyz stay open', { timeout: 30_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-dadmin-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tokenFile = path.join(dir, 'admin.token');
  await writeFile(tokenFile, `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const port = await freePort();
  const dispatcher = await startTestDispatcher(m2, ['--admin', `0.0.0.0:${port}`, '--admin-token-file', tokenFile, '--metrics-token', METRICS_TOKEN]);
  t.after(() => dispatcher.proc.stop());
  const started = await dispatcher.proc.waitForLog((l) => l['event'] === 'dispatcher.start');
  assert.equal(started['adminAuth'], true);
  const worker = await dispatcher.worker(HELLO_APP);
  t.after(() => worker.stop());

  const url = `http://127.0.0.1:${port}`;
  const metrics = (authorization?: string): Promise<Response> => fetch(`${url}/metrics`, { headers: authorization === undefined ? {} : { authorization } });
  const open = await metrics();
  assert.equal(open.status, 401);
  assert.equal(open.headers.get('www-authenticate'), 'Bearer');
  assert.doesNotMatch(await open.text(), /m2pool_/, 'no metric leaks out');
  assert.equal((await metrics('Bearer wrong-token-0123456789')).status, 401);
  const withAdmin = await metrics(`Bearer ${ADMIN_TOKEN}`);
  assert.equal(withAdmin.status, 200);
  assert.match(await withAdmin.text(), /^m2pool_dispatcher_/m);
  assert.equal((await metrics(`bearer ${METRICS_TOKEN}`)).status, 200, 'the scheme is case-insensitive; the metrics token opens /metrics');
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  const readyz = await fetch(`${url}/readyz`);
  assert.equal(readyz.status, 200, await readyz.text());
});

test('on loopback the dispatcher admin may stay open, as the pool admin does', { timeout: 30_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const port = await freePort();
  const dispatcher = await startTestDispatcher(m2, ['--admin', `127.0.0.1:${port}`]);
  t.after(() => dispatcher.proc.stop());
  assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 200);
});
