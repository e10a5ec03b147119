#!/usr/bin/env node
'use strict';
// Test entry point for `npm test`: compile, then run node:test over an explicit list of compiled test files
// (Node 20's runner has no recursive globs; see docs/contributing.md#tests).
//   node test/run.js                 -> every test (unit first, then integration)
//   node test/run.js unit/protocol   -> only files under dist/test/unit/protocol
//   node test/run.js --no-build unit -> skip tsc
//   node test/run.js --no-lint unit  -> skip ESLint (eslint.config.mjs), which otherwise runs after tsc, before the
//                                       tests (cached in node_modules/.cache/eslint: ~1.5 s when few files changed)
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const build = !args.includes('--no-build');
const lint = !args.includes('--no-lint');
const filters = args.filter((a) => !a.startsWith('--'));

// A fresh clone: install what is missing first (node modules; Mongrel2, Prometheus and Redis for integration tests).
const prerequisites = require('../deploy/prerequisites');
const PROMETHEUS = [
  { command: 'promtool', pkg: 'prometheus' },
  { command: 'prometheus', pkg: 'prometheus' },
];
const onlyUnit = filters.length > 0 && filters.every((f) => f === 'unit' || f.startsWith('unit/'));
if (!prerequisites.ensureNodeModules()) process.exit(1);
if (!onlyUnit && !prerequisites.ensureDebianPackages([...prerequisites.MONGREL2, ...PROMETHEUS, ...prerequisites.REDIS], 'npm test')) process.exit(1);

if (build) {
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', root], { stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}

if (lint) {
  const cache = path.join(root, 'node_modules', '.cache', 'eslint') + path.sep;
  const eslint = spawnSync(process.execPath, [path.join(path.dirname(require.resolve('eslint/package.json')), 'bin', 'eslint.js'), '--cache', '--cache-location', cache, 'src', 'test', 'examples', 'dashboards'], { stdio: 'inherit', cwd: root });
  if (eslint.status !== 0) process.exit(eslint.status ?? 1);
}

function walk(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.test.js') ? [p] : [];
  });
}

const distTest = path.join(root, 'dist', 'test');
const groups = filters.length > 0 ? filters : ['unit', 'integration'];
const files = groups.flatMap((g) => {
  const p = path.join(distTest, g);
  return fs.existsSync(p) && fs.statSync(p).isFile() ? [p] : walk(p).sort();
});
if (files.length === 0) {
  console.error(`no test files under ${groups.map((g) => path.join('dist/test', g)).join(', ')}`);
  process.exit(1);
}
// Integration tests start real Mongrel2 servers and worker processes: on a 2-core machine, run files one at a time.
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit', cwd: root });
process.exit(run.status ?? 1);
