import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readRepoFile, runTool } from './support';

const CLI = 'dist/src/cli/main.js';

/**
 * Flags of the dispatch topology (issue 14) the deployment files already use: accepted while the command's
 * `--help` does not list them yet, checked like every other flag once it does.
 */
const PLANNED_FLAGS: Readonly<Record<string, readonly string[]>> = {
  start: ['dispatcher', 'curve-server-key-file', 'curve-secret-file', 'topology'],
  dispatcher: ['send-spec', 'recv-spec', 'bind', 'curve-secret-file', 'curve-authorized-dir', 'insecure', 'admin'],
  keygen: ['out-dir', 'name'],
};

/** The `--flag` names a command's help lists (empty when the command does not exist yet). */
function helpFlags(command: string): Set<string> {
  const r = runTool(process.execPath, [CLI, command, '--help']);
  return new Set(r.status === 0 ? [...r.stdout.matchAll(/^ {2}(?:-\w, )?--([a-z0-9-]+)/gm)].map((m) => m[1] ?? '') : []);
}

/** `[command, flags]` of every m2pool invocation in the systemd units and the Kubernetes manifests. */
function invocations(): Array<{ where: string; command: string; flags: string[] }> {
  const out: Array<{ where: string; command: string; flags: string[] }> = [];
  for (const unit of ['m2pool.service', 'm2pool-dispatcher.service', 'm2pool-mongrel2.service', 'm2pool-keygen.service']) {
    const text = readRepoFile('deploy', 'systemd', unit).replace(/\s*\\\n\s*/g, ' ');
    for (const m of text.matchAll(/^ExecStart=\/usr\/bin\/node \S+main\.js (\S+)(.*)$/gm)) {
      out.push({ where: unit, command: m[1] ?? '', flags: [...(m[2] ?? '').matchAll(/(?:^|\s)--([a-z0-9-]+)/g)].map((f) => f[1] ?? '') });
    }
  }
  for (const file of ['front.yaml', 'pool.yaml']) {
    const text = readRepoFile('deploy', 'kubernetes', 'base', file);
    // Container args, in flow (["a", "b"]) or block (- a) style.
    for (const block of text.split(/\n\s+- name: /).slice(1)) {
      const flow = /\n\s+args: \[([^\]]*)\]/.exec(block)?.[1];
      const list = flow !== undefined ? [...flow.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '') : [...(/\n(\s+)args:\n((?:\1 {2}- .*\n)+)/.exec(block)?.[2] ?? '').matchAll(/- (\S+)/g)].map((m) => m[1] ?? '');
      if (list.length === 0) continue;
      out.push({ where: file, command: list[0] ?? '', flags: list.filter((a) => a.startsWith('--')).map((a) => a.slice(2)) });
    }
  }
  return out;
}

test('every flag the systemd units and Kubernetes manifests pass is one the command knows (or issue 14 plans)', () => {
  const found = invocations();
  assert.deepEqual([...new Set(found.map((i) => i.command))].sort(), ['dispatcher', 'keygen', 'mongrel2', 'start']);
  for (const { where, command, flags } of found) {
    const known = helpFlags(command);
    for (const flag of flags) {
      assert.ok(known.has(flag) || (PLANNED_FLAGS[command] ?? []).includes(flag), `${where}: m2pool ${command} has no --${flag}`);
    }
  }
});
