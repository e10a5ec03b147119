import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const PROBE = path.join(__dirname, '../../fixtures/hidden-class-probe.js');

test('per-request objects with lazy getters are fast objects sharing one hidden class (no dictionary-mode literals)', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--allow-natives-syntax', PROBE]);
  assert.deepEqual(JSON.parse(stdout), { contextInits: 6, contextInit: true, streams: true, messageOptions: true });
});
