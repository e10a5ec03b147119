/**
 * Issue 10: a reload re-checks the app in a child, as `m2pool start` does, before it replaces any worker. With the
 * app file swapped for a broken one, under GET load through a real Mongrel2: `POST /pool/reload` answers 422 with
 * the reason, SIGHUP is refused the same way (logged), both are counted in `m2pool_pool_reloads_total`, no worker
 * is replaced and no request fails. With the working file back, the reload goes through.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { startLoad } from '../helpers/load';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { settled, startCliPool } from '../helpers/pool';
import { REPO_ROOT } from '../helpers/processes';

const fixture = (name: string): string => pathToFileURL(path.join(REPO_ROOT, 'test', 'fixtures', name)).href;
/** The app module's source: the working ESM fixture app, or one that throws while loading. */
const WORKING = `export { app } from ${JSON.stringify(fixture('esm-app.mjs'))};\n`;
const BROKEN = `import ${JSON.stringify(fixture('broken-app.mjs'))};\nexport const app = undefined;\n`;

test('a reload with a broken app file is refused (422, SIGHUP logged, counted); the old workers keep serving; a fixed file reloads', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-reload-app-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const appFile = path.join(dir, 'app.mjs');
  // Replace the file in one step, as a deploy does: a reader sees the old or the new file, never half of one.
  const install = async (source: string): Promise<void> => {
    await writeFile(`${appFile}.tmp`, source);
    await rename(`${appFile}.tmp`, appFile);
  };
  await install(WORKING);
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  // A later --app overrides the helper's example app (node's parseArgs keeps the last value).
  const pool = await startCliPool(m2, ['--app', appFile, '--workers', '2', '--heartbeat-interval-ms', '200']);
  t.after(() => pool.stop());
  const before = await pool.waitPool(settled(2), '2 ready workers');
  const pids = before.workers.map((w) => w.pid).sort();

  const load = startLoad({ port: m2.port, clients: 8, request: () => ({ path: '/' }), expectedBody: () => 'hello from esm' });
  try {
    await load.reached(200);
    await install(BROKEN);
    const refused = await pool.call('POST', '/pool/reload');
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.match(String(refused.body['error']), /^reload refused, the running workers keep serving: --app ".*app\.mjs" does not load: .*broken on purpose/s);

    process.kill(pool.proc.pid, 'SIGHUP');
    const logged = await pool.proc.waitForLog((l) => l['event'] === 'pool.reload' && l['outcome'] === 'refused' && l['source'] === 'SIGHUP');
    assert.match(String(logged['problem']), /broken on purpose/);
    assert.equal(logged['reason'], 'app-broken');

    await load.reached(load.results.length + 200);
    const during = await pool.pool();
    assert.equal(during.generation, 0, 'no reload began');
    assert.deepEqual(during.workers.map((w) => w.pid).sort(), pids, 'the old workers are still the ones serving');
    const metrics = await fetch(`http://127.0.0.1:${pool.adminPort}/metrics`).then((r) => r.text());
    assert.match(metrics, /^m2pool_pool_reloads_total\{outcome="app-broken"\} 2$/m);
    assert.match(metrics, /^m2pool_pool_reloads_total\{outcome="started"\} 0$/m);

    await install(WORKING);
    const accepted = await pool.call('POST', '/pool/reload');
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    assert.equal(accepted.body['generation'], 1);
    await pool.waitPool((p) => settled(2)(p) && p.workers.every((w) => w.generation === 1), 'generation 1 everywhere', 30_000);
    await load.reached(load.results.length + 200);
  } finally {
    await load.stop();
  }
  {
    const results = load.results;
    const failed = results.filter((r) => r.problem !== undefined || r.status !== 200);
    assert.deepEqual(failed.slice(0, 5).map((r) => `${r.status} ${String(r.problem)}`), [], `${failed.length} of ${results.length} requests failed`);
    t.diagnostic(`${results.length} requests, none failed, across 2 refused reloads and 1 accepted`);
  }
});
