/**
 * `m2pool start` checks `--app` in a child before it forks anything: a missing module and a module that throws
 * while loading are configuration errors (exit 4, the reason on stderr), with no worker started.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, REPO_ROOT, spawnNode } from '../helpers/processes';

const FLAGS = ['--workers', '2', '--admin', '127.0.0.1:0', '--send-spec', 'ipc:///tmp/m2pool-app-check-send', '--recv-spec', 'ipc:///tmp/m2pool-app-check-recv'];

async function startFails(app: string): Promise<{ code: number | null; stderr: string; spawned: number }> {
  const proc = spawnNode([CLI, 'start', '--app', app, ...FLAGS]);
  try {
    const [code] = await proc.exited;
    return { code, stderr: proc.stderr(), spawned: proc.logs.filter((l) => l['event'] === 'worker.spawn').length };
  } finally {
    await proc.stop();
  }
}

test('m2pool start --app ./nope.js exits 4 with the reason, before any worker is forked', { timeout: 15_000 }, async () => {
  const r = await startFails('./nope.js');
  assert.equal(r.code, 4);
  assert.match(r.stderr, /--app "\.\/nope\.js" does not load; nothing was started:\n {2}cannot find app module "\.\/nope\.js"/);
  assert.doesNotMatch(r.stderr, /Require stack/);
  assert.equal(r.spawned, 0);
});

test('an app that throws while loading exits 4 with its error, before any worker is forked', { timeout: 15_000 }, async () => {
  const r = await startFails(path.join(REPO_ROOT, 'test/fixtures/broken-app.mjs'));
  assert.equal(r.code, 4);
  assert.match(r.stderr, /failed to load: broken on purpose/);
  assert.equal(r.spawned, 0);
});
