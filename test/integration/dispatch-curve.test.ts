/**
 * Remote workers are authenticated: a `tcp://` dispatcher endpoint with CURVE (keys from `m2pool keygen`) and an
 * authorized directory serves a worker whose public key is in that directory and refuses one whose key is not;
 * a `tcp://` bind without keys is refused unless `--insecure`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startTestDispatcher } from '../helpers/dispatcher';
import { rawRequest } from '../helpers/http-client';
import { keygen } from '../helpers/keys';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { CLI, HELLO_APP, spawnNode, startWorker } from '../helpers/processes';

test('CURVE over tcp: an authorized worker serves, a worker with an unknown key is refused', { timeout: 40_000 }, async (t) => {
  const keys = await mkdtemp(path.join(tmpdir(), 'm2p-keys-'));
  t.after(() => rm(keys, { recursive: true, force: true }));
  const authorized = path.join(keys, 'authorized');
  await keygen(keys, 'dispatcher');
  await keygen(authorized, 'good');
  await keygen(keys, 'stranger');
  // The secret key is private to its owner; the authorized directory holds only public keys.
  assert.equal((await stat(path.join(keys, 'dispatcher.key'))).mode & 0o777, 0o600);
  await rename(path.join(authorized, 'good.key'), path.join(keys, 'good.key'));
  assert.match(await readFile(path.join(authorized, 'good.pub'), 'utf8'), /^\S{40}\n$/);

  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const port = await freePort();
  const endpoint = `tcp://127.0.0.1:${port}`;
  const dispatcher = await startTestDispatcher(
    m2,
    ['--curve-secret-file', path.join(keys, 'dispatcher.key'), '--curve-authorized-dir', authorized],
    { endpoint },
  );
  t.after(() => dispatcher.proc.stop());

  const curveArgs = (name: string): string[] => ['--dispatcher', endpoint, '--curve-server-key-file', path.join(keys, 'dispatcher.pub'), '--curve-secret-file', path.join(keys, `${name}.key`)];
  const good = await startWorker(HELLO_APP, curveArgs('good'));
  t.after(() => good.stop());
  const res = await rawRequest(m2.port, { path: '/echo/curve' });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), '/echo/curve');

  const stranger = spawnNode([CLI, 'worker', '--app', HELLO_APP, ...curveArgs('stranger'), '--boot-timeout-ms', '10000']);
  t.after(() => stranger.stop());
  const [code] = await stranger.exited;
  assert.equal(code, 3, 'boot error');
  const fatal = stranger.logs.find((l) => l['event'] === 'worker.fatal');
  assert.match(String(fatal?.['msg']), /refused our CURVE key/);
  await dispatcher.proc.waitForLog((l) => l['event'] === 'dispatcher.auth.refused');
});

test('a tcp:// bind without CURVE keys is refused unless --insecure; /readyz says why while Mongrel2 is missing', { timeout: 20_000 }, async () => {
  const port = await freePort();
  const refused = spawnNode([CLI, 'dispatcher', '--send-spec', 'ipc:///tmp/none-req', '--recv-spec', 'ipc:///tmp/none-rep', '--bind', `tcp://127.0.0.1:${port}`]);
  const [code] = await refused.exited;
  assert.equal(code, 2);
  assert.match(refused.stderr(), /refusing to bind tcp:\/\/127\.0\.0\.1:\d+ without CURVE keys/);

  const adminPort = await freePort();
  const insecure = spawnNode([CLI, 'dispatcher', '--send-spec', 'ipc:///tmp/none-req', '--recv-spec', 'ipc:///tmp/none-rep', '--bind', `tcp://127.0.0.1:${port}`, '--insecure', '--admin', `127.0.0.1:${adminPort}`]);
  try {
    const started = await insecure.waitForLog((l) => l['event'] === 'dispatcher.start');
    assert.equal(started['curve'], false);
    // No Mongrel2 there: alive, not ready, and /readyz says why.
    assert.equal((await fetch(`http://127.0.0.1:${adminPort}/healthz`)).status, 200);
    const readyz = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
    assert.equal(readyz.status, 503);
    assert.match(await readyz.text(), /Mongrel2 not connected: ipc:\/\/\/tmp\/none-req/);
  } finally {
    await insecure.stop();
  }
});

test('a worker refuses a tcp:// dispatcher without CURVE keys unless --insecure, which it logs', { timeout: 30_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const dispatcher = await startTestDispatcher(m2, ['--insecure'], { endpoint });
  t.after(() => dispatcher.proc.stop());

  const refused = spawnNode([CLI, 'worker', '--app', HELLO_APP, '--dispatcher', endpoint]);
  t.after(() => refused.stop());
  const [code] = await refused.exited;
  assert.equal(code, 2, 'a configuration error, before anything connects');
  assert.match(refused.stderr(), /refusing to connect to tcp:\/\/127\.0\.0\.1:\d+ without CURVE keys .*or --insecure/);
  assert.equal(dispatcher.proc.logs.filter((l) => l['event'] === 'dispatcher.worker.hello').length, 0, 'it never registered');

  const insecure = await startWorker(HELLO_APP, ['--dispatcher', endpoint, '--insecure']);
  t.after(() => insecure.stop());
  const warning = await insecure.waitForLog((l) => l['event'] === 'worker.insecure');
  assert.equal(warning['level'], 40, 'a warning');
  assert.equal(warning['endpoint'], endpoint);
  const res = await rawRequest(m2.port, { path: '/echo/plain' });
  assert.equal(res.status, 200);
});
