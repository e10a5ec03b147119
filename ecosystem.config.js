// pm2 process file: `pm2 start ecosystem.config.js` runs Mongrel2 and the m2pool supervisor with the example
// app on http://127.0.0.1:6767/ and the admin API on 127.0.0.1:9890 (/pool, /metrics, /healthz, /readyz).
//
// - The supervisor is the pool: fork mode, one instance (pm2 cluster mode would double it).
// - wait_ready: the supervisor sends 'ready' to pm2 once the minimum of workers is ready (listen_timeout
//   covers the worker boot timeout).
// - kill_timeout is above the supervisor's shutdown timeout (35 s), so pm2 never SIGKILLs a draining pool
//   (pm2's default 1.6 s would).
// - pm2's treekill signals the workers too; the workers' stop is idempotent, so SIGINT from pm2 and
//   'shutdown' from the supervisor together are fine.
// - Scale live: `pm2 trigger m2pool scale 4`, `npx m2pool scale +1`, or `kill -TTIN <supervisor pid>`.
// - Where it listens can be moved with M2POOL_HTTP_PORT, M2POOL_ADMIN and M2POOL_RUN_DIR (the tests do).
'use strict';
const path = require('node:path');

const CLI = path.join(__dirname, 'dist', 'src', 'cli', 'main.js');
// `m2pool mongrel2` replaces ${RUN_DIR} in the config with this directory; the workers connect to the same
// absolute ipc paths.
const RUN_DIR = process.env.M2POOL_RUN_DIR || path.join(__dirname, 'run', 'mongrel2');
const HTTP_PORT = process.env.M2POOL_HTTP_PORT || '6767';
const ADMIN = process.env.M2POOL_ADMIN || '127.0.0.1:9890';

module.exports = {
  apps: [
    {
      name: 'm2pool-mongrel2',
      script: CLI,
      args: ['mongrel2', '--config', path.join(__dirname, 'deploy', 'mongrel2', 'mongrel2.conf'), '--run-dir', RUN_DIR, '--port', HTTP_PORT],
      cwd: __dirname,
      exec_mode: 'fork',
      instances: 1,
      autorestart: true,
      kill_timeout: 5_000,
    },
    {
      name: 'm2pool',
      script: CLI,
      args: [
        'start',
        '--app', path.join(__dirname, 'examples', 'hello'),
        '--workers', '2',
        '--send-spec', `ipc://${RUN_DIR}/run/requests`,
        '--recv-spec', `ipc://${RUN_DIR}/run/replies`,
        // Must be deploy/mongrel2/mongrel2.conf's upload.temp_store and limits.content_length: only files that
        // template can name, announced by messages of Mongrel2's shape, are read and unlinked.
        '--upload-store', path.join(RUN_DIR, 'tmp', 'upload.XXXXXX'),
        '--upload-threshold', '20480',
        '--admin', ADMIN,
      ],
      cwd: __dirname,
      exec_mode: 'fork',
      instances: 1,
      autorestart: true,
      wait_ready: true,
      listen_timeout: 40_000,
      kill_timeout: 45_000,
      env: { NODE_ENV: 'production' },
    },
  ],
};
