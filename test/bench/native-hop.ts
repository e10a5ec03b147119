/**
 * Builds the native hop floor (hop-forwarder.c) with gcc against Debian's libzmq (`libzmq3-dev`, found through
 * pkg-config) into a directory of the bench run, once per run. Returns the binary, or why it cannot be built (the
 * bench then skips that variant and says so): this is a measuring stick, never part of m2pool.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/processes';

const SOURCE = path.join(REPO_ROOT, 'test/bench/hop-forwarder.c');

const built = new Map<string, { binary: string } | { skipped: string }>();

/** The compiled forwarder in `dir`, or the reason it is not available. */
export function nativeHop(dir: string): { binary: string } | { skipped: string } {
  const known = built.get(dir);
  if (known !== undefined) return known;
  const result = build(dir);
  built.set(dir, result);
  return result;
}

function build(dir: string): { binary: string } | { skipped: string } {
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'libzmq'], { encoding: 'utf8' });
  if (flags.error !== undefined || flags.status !== 0) return { skipped: 'pkg-config cannot find libzmq (apt-get install libzmq3-dev pkg-config)' };
  const binary = path.join(dir, 'hop-forwarder');
  const cc = spawnSync('gcc', ['-O2', '-o', binary, SOURCE, ...flags.stdout.trim().split(/\s+/)], { encoding: 'utf8' });
  if (cc.error !== undefined) return { skipped: `gcc is not installed (${cc.error.message})` };
  if (cc.status !== 0) return { skipped: `gcc failed: ${cc.stderr.slice(0, 500)}` };
  return { binary };
}
