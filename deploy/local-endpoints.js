'use strict';
// Where `npm start` (deploy/start.js) looks for the site and the admin API: the same variables, with the same
// defaults, that ecosystem.config.js passes to Mongrel2 and the pool (M2POOL_HTTP_PORT, M2POOL_ADMIN). A
// wildcard admin address (0.0.0.0, ::, or a bare :PORT) is reached on the loopback address.

const DEFAULT_HTTP_PORT = '6767';
const DEFAULT_ADMIN = '127.0.0.1:9890';

/** `{ site, admin }` base URLs for `env` (process.env by default). */
function localEndpoints(env = process.env) {
  const port = env.M2POOL_HTTP_PORT || DEFAULT_HTTP_PORT;
  const admin = env.M2POOL_ADMIN || DEFAULT_ADMIN;
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(admin);
  if (!m) throw new Error(`M2POOL_ADMIN must be HOST:PORT, got ${JSON.stringify(admin)}`);
  const host = m[1] ?? m[2] ?? '';
  const reachable = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : m[1] !== undefined ? `[${host}]` : host;
  return { site: `http://127.0.0.1:${port}/`, admin: `http://${reachable}:${m[3]}` };
}

module.exports = { localEndpoints };
