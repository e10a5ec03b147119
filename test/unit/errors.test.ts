/**
 * Every error code is documented in README's error table, and the table names no code that does not exist
 * (fastify's errors.test.js pattern).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, ErrorCode, M2PoolError, ProtocolError } from '../../src/errors';

const README = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');

test("README's error table lists exactly the codes of ErrorCode", () => {
  const documented = [...README.matchAll(/^\| `(M2P_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]).sort();
  assert.deepEqual(documented, Object.values(ErrorCode).sort());
});

test('errors carry their code, and ConfigError lists every issue', () => {
  const err = new ConfigError(['a is wrong', 'b is wrong']);
  assert.ok(err instanceof M2PoolError);
  assert.equal(err.code, 'M2P_ERR_CONFIG_INVALID');
  assert.deepEqual(err.issues, ['a is wrong', 'b is wrong']);
  assert.match(err.message, /a is wrong[\s\S]*b is wrong/);
  const proto = new ProtocolError('bad length', 17);
  assert.equal(proto.offset, 17);
  assert.equal(proto.message, 'bad length at byte 17');
});
