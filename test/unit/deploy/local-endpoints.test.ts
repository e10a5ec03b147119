import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './support';

interface Endpoints {
  readonly site: string;
  readonly admin: string;
}
// deploy/local-endpoints.js is plain CommonJS (npm start runs it before anything is built).
const { localEndpoints } = require(path.join(REPO_ROOT, 'deploy', 'local-endpoints.js')) as { localEndpoints: (env: NodeJS.ProcessEnv) => Endpoints };

test('npm start waits on the defaults of ecosystem.config.js', () => {
  assert.deepEqual(localEndpoints({}), { site: 'http://127.0.0.1:6767/', admin: 'http://127.0.0.1:9890' });
});

test('npm start honours M2POOL_HTTP_PORT and M2POOL_ADMIN', () => {
  assert.deepEqual(localEndpoints({ M2POOL_HTTP_PORT: '7000', M2POOL_ADMIN: '127.0.0.1:9000' }), { site: 'http://127.0.0.1:7000/', admin: 'http://127.0.0.1:9000' });
});

test('a wildcard admin address is reached on loopback', () => {
  assert.equal(localEndpoints({ M2POOL_ADMIN: '0.0.0.0:9000' }).admin, 'http://127.0.0.1:9000');
  assert.equal(localEndpoints({ M2POOL_ADMIN: '[::]:9000' }).admin, 'http://[::1]:9000');
  assert.equal(localEndpoints({ M2POOL_ADMIN: '[::1]:9000' }).admin, 'http://[::1]:9000');
});

test('a malformed M2POOL_ADMIN is a clear error', () => {
  assert.throws(() => localEndpoints({ M2POOL_ADMIN: 'nope' }), /M2POOL_ADMIN must be HOST:PORT, got "nope"/);
});

test('deploy/start.js reads its endpoints from local-endpoints.js, not constants', async () => {
  const { readFile } = await import('node:fs/promises');
  const start = await readFile(path.join(REPO_ROOT, 'deploy', 'start.js'), 'utf8');
  assert.match(start, /localEndpoints\(\)/);
  assert.doesNotMatch(start, /6767|9890/);
});
