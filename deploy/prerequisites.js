'use strict';
// What a fresh machine lacks for `npm start` and `npm test`, installed on first use: the node modules (npm ci,
// from the lock file) and Debian packages when run as root (otherwise the exact apt-get command is printed).
// The container image (deploy/container/Dockerfile) runs the same steps from the command line:
//   node deploy/prerequisites.js node-modules     npm ci unless the modules are there
//   node deploy/prerequisites.js mongrel2         Debian's mongrel2-core unless mongrel2 and m2sh are on PATH
//   node deploy/prerequisites.js redis            Debian's redis-server unless on PATH (for the tests; the image does not run it)
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function step(text) {
  process.stdout.write(`\n> ${text}\n`);
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Install the node modules from the lock file unless they are there. Returns false on failure. */
function ensureNodeModules() {
  const installed = ['typescript', 'zeromq', 'pm2', 'eslint', 'typescript-eslint'].every((m) => fs.existsSync(path.join(root, 'node_modules', m)));
  if (installed) return true;
  step('installing node modules (npm ci)');
  return run('npm', ['ci', '--no-audit', '--no-fund']) === 0;
}

/**
 * Make sure each `{ command, pkg }` has its command on PATH, installing the Debian packages of the missing ones
 * when root. `who` names the caller in the message shown otherwise. Returns false when something is missing.
 */
function ensureDebianPackages(needs, who) {
  const missing = [...new Set(needs.filter((n) => !has(n.command)).map((n) => n.pkg))];
  if (missing.length === 0) return true;
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid && process.getuid() === 0) {
    step(`installing ${missing.join(', ')} (${cmd})`);
    return run('sh', ['-c', cmd], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }) === 0;
  }
  process.stderr.write(`\n${who} needs ${missing.join(', ')}. Install, then run it again:\n\n  sudo sh -c '${cmd}'\n\n`);
  return false;
}

/** Mongrel2 itself: what `npm start` and the integration tests run. */
const MONGREL2 = [
  { command: 'mongrel2', pkg: 'mongrel2-core' },
  { command: 'm2sh', pkg: 'mongrel2-core' },
];

/** Redis: the session store of the integration tests (test/helpers/redis.ts) and of examples/site with REDIS_URL. */
const REDIS = [{ command: 'redis-server', pkg: 'redis-server' }];

module.exports = { root, run, step, ensureNodeModules, ensureDebianPackages, MONGREL2, REDIS };

const STEPS = {
  'node-modules': () => ensureNodeModules(),
  mongrel2: () => ensureDebianPackages(MONGREL2, 'the m2pool image'),
  redis: () => ensureDebianPackages(REDIS, 'the session store'),
};

if (require.main === module) {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !(n in STEPS));
  if (names.length === 0 || unknown.length > 0) {
    process.stderr.write(`usage: node deploy/prerequisites.js ${Object.keys(STEPS).join('|')} ...${unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ''}\n`);
    process.exit(2);
  }
  process.exit(names.every((n) => STEPS[n]()) ? 0 : 1);
}
