/**
 * `m2pool dev` reloads through the pool's admin API, so it must send the token `m2pool start` will require: from
 * the start flags after `--` first, then the environment the pool inherits.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startAdminToken } from '../../../src/cli/dev-command';

test('no flag and no variable: no token', () => {
  assert.equal(startAdminToken(['--workers', '2'], {}), '');
});

test('--admin-token after --, in both spellings, wins over the environment', () => {
  const env = { M2POOL_ADMIN_TOKEN: 'from-env-0123456789' };
  assert.equal(startAdminToken(['--admin-token', 'from-flag-0123456789'], env), 'from-flag-0123456789');
  assert.equal(startAdminToken(['--admin-token=from-flag-0123456789'], env), 'from-flag-0123456789');
});

test('token files, from the flag or the variable, without their trailing newline', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'm2p-dev-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'token');
  writeFileSync(file, 'in-a-file-0123456789\n');
  assert.equal(startAdminToken(['--admin-token-file', file], {}), 'in-a-file-0123456789');
  assert.equal(startAdminToken([], { M2POOL_ADMIN_TOKEN_FILE: file }), 'in-a-file-0123456789');
  assert.equal(startAdminToken([], { M2POOL_ADMIN_TOKEN: 'plain-0123456789' }), 'plain-0123456789');
});

test('an unreadable token file is a problem, not an empty token', () => {
  const r = startAdminToken(['--admin-token-file', '/nonexistent/m2pool-token'], {});
  assert.equal(typeof r, 'object');
  assert.match((r as { problem: string }).problem, /no such file/);
});
