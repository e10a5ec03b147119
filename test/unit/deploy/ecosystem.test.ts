/**
 * ecosystem.config.js takes the app from the environment: no `--app`/`--workers` flags (a flag would beat
 * M2POOL_APP), the shell's M2POOL_APP or the example as the pool's `env`, which pm2's env_<name> blocks override.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../helpers/processes';

interface PoolApp {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
}

/** The m2pool app of the ecosystem file as loaded with `env` (in a child: the file reads process.env once). */
function poolApp(env: NodeJS.ProcessEnv): PoolApp {
  const script = "const e = require('./ecosystem.config.js'); process.stdout.write(JSON.stringify(e.apps.find((a) => a.name === 'm2pool')));";
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('M2POOL_')));
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, env: { ...clean, ...env }, encoding: 'utf8' })) as PoolApp;
}

test('without M2POOL_APP the pool runs the example, passed as environment, not as a flag', () => {
  const app = poolApp({});
  assert.equal(app.args.includes('--app'), false);
  assert.equal(app.args.includes('--workers'), false);
  assert.equal(app.env['M2POOL_APP'], path.join(REPO_ROOT, 'examples', 'hello'));
  assert.equal(app.env['M2POOL_WORKERS'], '2');
});

test("the shell's M2POOL_APP and M2POOL_WORKERS are the pool's", () => {
  const app = poolApp({ M2POOL_APP: './dist/app.js', M2POOL_WORKERS: 'auto' });
  assert.equal(app.env['M2POOL_APP'], './dist/app.js');
  assert.equal(app.env['M2POOL_WORKERS'], 'auto');
  assert.equal(app.args.includes('--app'), false);
});
