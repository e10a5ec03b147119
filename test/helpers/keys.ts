/**
 * CURVE key pairs for tests, written by the real `m2pool keygen`.
 */
import assert from 'node:assert/strict';
import { CLI, spawnNode } from './processes';

/** `m2pool keygen --out-dir dir --name name`: writes `name.key` (secret) and `name.pub`; fails the test otherwise. */
export async function keygen(dir: string, name: string): Promise<void> {
  const proc = spawnNode([CLI, 'keygen', '--out-dir', dir, '--name', name]);
  const [code] = await proc.exited;
  assert.equal(code, 0, proc.stderr());
}
