/**
 * Layers point down (docs/architecture.md): the supervisor never loads the framework, the HTTP model or the
 * protocol codecs, and the framework entry never loads zeromq's native addon. Each check runs in a fresh
 * process, as the README's one-liners do, so what this process already loaded does not count.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Modules under `dist/src` or `node_modules` matching `pattern` that `entry` loads. */
function loadedBy(entry: string, pattern: string): string[] {
  const script = `require(${JSON.stringify(entry)}); const re = new RegExp(${JSON.stringify(pattern)}); process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((f) => re.test(f))));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' })) as string[];
}

test('the supervisor entry loads no app/, http/ or protocol/ module', () => {
  assert.deepEqual(loadedBy('./dist/src/cli/start-command', '[\\\\/]dist[\\\\/]src[\\\\/](app|http|protocol)[\\\\/]'), []);
});

test("require('m2pool') loads no zeromq module, and m2pool/worker does (the check can fail)", () => {
  assert.deepEqual(loadedBy('m2pool', '[\\\\/]node_modules[\\\\/]zeromq[\\\\/]'), []);
  assert.ok(loadedBy('m2pool/worker', '[\\\\/]node_modules[\\\\/]zeromq[\\\\/]').length > 0);
});

test('config/ (a leaf) loads no worker/, transport/, app/, http/ or protocol/ module', () => {
  const dir = path.join(ROOT, 'dist', 'src', 'config');
  const modules = readdirSync(dir).filter((f) => f.endsWith('.js'));
  assert.ok(modules.includes('worker-config.js'), modules.join(', '));
  for (const m of modules) assert.deepEqual(loadedBy(`./dist/src/config/${m}`, '[\\\\/]dist[\\\\/]src[\\\\/](worker|transport|app|http|protocol)[\\\\/]'), [], m);
});
