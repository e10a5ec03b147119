#!/usr/bin/env node
'use strict';
// `npm start`: bring up Mongrel2, the dispatcher and the m2pool supervisor (with the example app) under pm2 on a fresh
// machine. Installs what is missing first: node modules and the build, and Debian's mongrel2-core when run as
// root (otherwise it prints the exact command). Then waits until the site answers and says where to look.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { localEndpoints } = require('./local-endpoints');
const { MONGREL2, ensureDebianPackages, ensureNodeModules, root, run, step } = require('./prerequisites');

// M2POOL_HTTP_PORT and M2POOL_ADMIN move the site and the admin API (ecosystem.config.js reads the same ones).
const { site: SITE, admin: ADMIN } = localEndpoints();

function get(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.setTimeout(2000, () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

async function waitFor(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await get(url)) === 200) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function main() {
  if (!ensureNodeModules()) return 1;
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'cli', 'main.js'))) {
    step('building (npm run build)');
    if (run('npm', ['run', 'build']) !== 0) return 1;
  }
  if (!ensureDebianPackages(MONGREL2, 'npm start')) return 1;
  step('starting Mongrel2, the dispatcher and the pool under pm2 (pm2 start ecosystem.config.js)');
  const pm2 = path.join(root, 'node_modules', '.bin', 'pm2');
  if (run(pm2, ['start', 'ecosystem.config.js']) !== 0) return 1;

  const up = (await waitFor(`${ADMIN}/readyz`, 60_000)) && (await waitFor(SITE, 30_000));
  if (!up) {
    process.stderr.write(`\nThe pool did not become ready in time. Look at the logs: npx pm2 logs\n`);
    return 1;
  }
  process.stdout.write(`
m2pool is up.

  site        ${SITE}            (try ${SITE}echo/hello and ${SITE}inspect)
  pool        ${ADMIN}/pool      (npm run m2pool -- status)
  metrics     ${ADMIN}/metrics
  health      ${ADMIN}/healthz   ${ADMIN}/readyz

  scale       npm run m2pool -- scale 4   |   npm run m2pool -- scale +1   |   npx pm2 trigger m2pool scale 4
  reload      npm run m2pool -- reload    (new workers first, then the old ones drain)
  logs        npx pm2 logs          (m2pool-mongrel2, m2pool-dispatcher, m2pool)
  stop        npm stop
`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`npm start failed: ${err && err.message ? err.message : err}\n`);
    process.exit(1);
  },
);
