/**
 * `m2pool init DIR` on a fresh directory, as a new user gets it: m2pool installed from `npm pack` of this checkout
 * (everything else from the npm registry), then the project's own `npm test` passes and its `npm start` serves
 * (Mongrel2 + a pool of its TypeScript app).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { rawRequest } from '../helpers/http-client';
import { freePort } from '../helpers/ports';
import { CLI, REPO_ROOT } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

/** This process's environment without node:test's marker, which would make the project's own `node --test` a no-op. */
const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));

function run(cmd: string, args: readonly string[], cwd: string, timeoutMs: number): { status: number | null; output: string } {
  const r = spawnSync(cmd, [...args], { cwd, encoding: 'utf8', timeout: timeoutMs, env: CLEAN_ENV });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

test('a project made by m2pool init passes its own npm test, and its npm start serves', { timeout: 300_000 }, async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'm2p-init-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = path.join(root, 'my-site');
  const init = run(process.execPath, [CLI, 'init', dir], root, 20_000);
  assert.equal(init.status, 0, init.output);
  // --ignore-scripts: the checkout is built already (prepare would rebuild it).
  const pack = run('npm', ['pack', REPO_ROOT, '--ignore-scripts', '--silent'], root, 120_000);
  assert.equal(pack.status, 0, pack.output);
  const tarball = path.join(root, pack.output.trim().split('\n').pop() ?? '');
  const install = run('npm', ['install', tarball, '--no-audit', '--no-fund'], dir, 240_000);
  assert.equal(install.status, 0, install.output);
  assert.match((await readFile(path.join(dir, 'package.json'), 'utf8')), /"tsx"/);

  const tested = run('npm', ['test'], dir, 60_000);
  assert.equal(tested.status, 0, tested.output);
  assert.match(tested.output, /# pass 3\n# fail 0/);

  const [port, adminPort] = [await freePort(), await freePort()];
  const start = spawn('npm', ['start'], { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...CLEAN_ENV, M2POOL_HTTP_PORT: String(port), M2POOL_ADMIN: `127.0.0.1:${adminPort}` } });
  let output = '';
  start.stdout.on('data', (d: Buffer) => (output += d.toString()));
  start.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => start.once('exit', () => resolve()));
  t.after(async () => {
    try {
      process.kill(-(start.pid ?? 0), 'SIGTERM');
    } catch {
      // already gone
    }
    await exited;
  });
  const res = await waitFor(async () => {
    const r = await rawRequest(port, { path: '/hello/init' }).catch(() => undefined);
    return r?.status === 200 ? r : undefined;
  }, { timeoutMs: 90_000, what: `npm start to serve; output so far:\n${output}` });
  assert.equal(res.body.toString(), 'hello init');
  await waitFor(() => output.includes('m2pool dev is up'), { timeoutMs: 30_000, what: 'npm start to say where to look' });
});
