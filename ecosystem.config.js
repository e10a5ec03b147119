// pm2 process file: `pm2 start ecosystem.config.js` runs Mongrel2, the dispatcher and the m2pool supervisor with
// the example app on http://127.0.0.1:6767/ and the admin API on 127.0.0.1:9890 (/pool, /metrics, /healthz, /readyz).
//
// - Dispatch topology, as systemd runs it (deploy/systemd/): Mongrel2 and the dispatcher are apps of their own,
//   the pool joins the dispatcher (`--dispatcher ipc://RUN_DIR/dispatch.sock`) and forks none. So
//   `pm2 reload m2pool` / `pm2 restart m2pool` replace the supervisor and its workers while the dispatcher holds
//   the requests (queued until the new workers join, up to its queue limit and timeout). The dispatcher serves
//   its own /metrics only when M2POOL_DISPATCHER_ADMIN (HOST:PORT) is set (off loopback also
//   M2POOL_DISPATCHER_ADMIN_TOKEN_FILE). M2POOL_TOPOLOGY=direct runs the
//   workers straight against Mongrel2 instead (no dispatcher app).
// - The supervisor is the pool: fork mode (pm2 cluster mode would double it). `pm2 scale m2pool N` runs N pools
//   that all join the one dispatcher, instance i with its admin API on the configured port + i
//   (src/supervisor/control/pm2-instance.ts); scaling pm2 down drains a pool's workers through the dispatcher.
// - wait_ready: the supervisor sends 'ready' to pm2 once the minimum of workers is ready (listen_timeout
//   covers the worker boot timeout).
// - kill_timeout is above the supervisor's shutdown timeout (35 s), so pm2 never SIGKILLs a draining pool
//   (pm2's default 1.6 s would).
// - pm2's treekill signals the workers too; the workers' stop is idempotent, so SIGINT from pm2 and
//   'shutdown' from the supervisor together are fine.
// - Scale live: `pm2 trigger m2pool scale 4`, `npx m2pool scale +1`, or `kill -TTIN <supervisor pid>`.
// - Where it listens can be moved with M2POOL_HTTP_PORT, M2POOL_ADMIN and M2POOL_RUN_DIR (the tests do).
// - Your app without editing this file: M2POOL_APP (and M2POOL_APP_KIND, M2POOL_WORKERS, any M2POOL_* setting)
//   from the shell (`M2POOL_APP=./dist/app.js pm2 start ecosystem.config.js`) or from an env_<name> block of
//   your own with `pm2 start ecosystem.config.js --env <name>`. They reach the supervisor as environment, not as
//   flags (a flag would beat the environment); the example app is only the default.
'use strict';
const path = require('node:path');

const CLI = path.join(__dirname, 'dist', 'src', 'cli', 'main.js');
// `m2pool mongrel2` replaces ${RUN_DIR} in the config with this directory; the workers connect to the same
// absolute ipc paths.
const RUN_DIR = process.env.M2POOL_RUN_DIR || path.join(__dirname, 'run', 'mongrel2');
const HTTP_PORT = process.env.M2POOL_HTTP_PORT || '6767';
const ADMIN = process.env.M2POOL_ADMIN || '127.0.0.1:9890';
const DIRECT = process.env.M2POOL_TOPOLOGY === 'direct';
const DISPATCHER = `ipc://${RUN_DIR}/dispatch.sock`;
const MONGREL2_SPECS = ['--send-spec', `ipc://${RUN_DIR}/run/requests`, '--recv-spec', `ipc://${RUN_DIR}/run/replies`];
const APP = process.env.M2POOL_APP || path.join(__dirname, 'examples', 'hello');
const WORKERS = process.env.M2POOL_WORKERS || '2';
const DISPATCHER_ADMIN = [
  ...(process.env.M2POOL_DISPATCHER_ADMIN ? ['--admin', process.env.M2POOL_DISPATCHER_ADMIN] : []),
  // Off loopback the dispatcher's admin endpoint needs a token (its /metrics asks for it).
  ...(process.env.M2POOL_DISPATCHER_ADMIN_TOKEN_FILE ? ['--admin-token-file', process.env.M2POOL_DISPATCHER_ADMIN_TOKEN_FILE] : []),
];

const dispatcherApp = {
  name: 'm2pool-dispatcher',
  script: CLI,
  // --control-spec: Mongrel2's control_port (deploy/mongrel2/mongrel2.conf): after a dispatcher crash, the restarted
  // one closes the connections whose requests died with it (docs/runbook.md, "A dispatcher crash").
  args: ['dispatcher', ...MONGREL2_SPECS, '--control-spec', `ipc://${RUN_DIR}/run/control`, '--bind', DISPATCHER, ...DISPATCHER_ADMIN],
  cwd: __dirname,
  exec_mode: 'fork',
  instances: 1,
  autorestart: true,
  // Above the pool's drain budget: what the workers still finish goes back through it.
  kill_timeout: 45_000,
};

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
    ...(DIRECT ? [] : [dispatcherApp]),
    {
      name: 'm2pool',
      script: CLI,
      args: [
        'start',
        ...(DIRECT ? ['--topology', 'direct', ...MONGREL2_SPECS] : ['--dispatcher', DISPATCHER]),
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
      // Exit 2 (usage), 3 (cannot boot: e.g. the admin address is taken, as with `pm2 scale m2pool N`) and 4 (the
      // app does not load) are not fixed by a restart: pm2 leaves the instance stopped, no restart storm.
      stop_exit_codes: [2, 3, 4],
      // A crash is restarted with backoff (the pool's own supervisor restarts single workers itself).
      exp_backoff_restart_delay: 200,
      min_uptime: 10_000,
      max_restarts: 20,
      wait_ready: true,
      listen_timeout: 40_000,
      kill_timeout: 45_000,
      // Defaults of the settings a user changes: env_<name> blocks (pm2 --env <name>) override these.
      env: { NODE_ENV: 'production', M2POOL_APP: APP, M2POOL_WORKERS: WORKERS },
    },
  ],
};
