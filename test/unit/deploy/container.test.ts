import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readRepoFile, runTool } from './support';

/** Dockerfile instructions (continuations joined, comments dropped) as `[INSTRUCTION, arguments]`. */
function instructions(text: string): Array<[string, string]> {
  return text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
    .map((l): [string, string] => {
      const m = /^\s*(\w+)\s+(.*)$/.exec(l);
      return [m?.[1]?.toUpperCase() ?? '', m?.[2] ?? ''];
    });
}

describe('container image recipe', () => {
  const dockerfile = instructions(readRepoFile('deploy', 'container', 'Dockerfile'));
  const args = (name: string): string[] => dockerfile.filter(([i]) => i === name).map(([, a]) => a);

  test('every stage is Node 20 on Debian bookworm-slim', () => {
    const from = args('FROM');
    assert.ok(from.length >= 1);
    for (const f of from) assert.match(f, /^node:20-bookworm-slim\b/);
  });

  test('installs through the prerequisites script npm test runs (npm ci, mongrel2-core)', () => {
    const runs = args('RUN').join('\n');
    assert.match(runs, /node deploy\/prerequisites\.js node-modules/);
    assert.match(runs, /node deploy\/prerequisites\.js mongrel2/);
    assert.match(readRepoFile('test', 'run.js'), /require\('\.\.\/deploy\/prerequisites'\)/);
    assert.match(readRepoFile('test', 'run.js'), /prerequisites\.ensureNodeModules\(\)/);
    assert.match(readRepoFile('test', 'run.js'), /prerequisites\.MONGREL2/);
  });

  test('the steps the image names exist in the script (and bad ones are refused)', () => {
    const ok = runTool(process.execPath, ['deploy/prerequisites.js', 'node-modules']);
    assert.equal(ok.status, 0, ok.output);
    const usage = runTool(process.execPath, ['deploy/prerequisites.js', 'nope']);
    assert.equal(usage.status, 2);
    assert.match(usage.output, /usage: node deploy\/prerequisites\.js node-modules\|mongrel2\|redis \.\.\. \(unknown: nope\)/);
  });

  test('runs as a non-root user, with tini as PID 1 running the m2pool CLI', () => {
    const last = dockerfile.map(([i]) => i).lastIndexOf('USER');
    assert.ok(last >= 0, 'no USER');
    const user = dockerfile[last]?.[1] ?? '';
    assert.doesNotMatch(user, /^(0|root)(:|$)/);
    assert.ok(dockerfile.slice(last + 1).every(([i]) => i !== 'USER' && i !== 'RUN'), 'nothing runs as root after USER');
    assert.equal(args('ENTRYPOINT').at(-1), '["/usr/bin/tini", "--", "node", "/opt/m2pool/dist/src/cli/main.js"]');
    const pkg = JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string> };
    assert.equal(pkg.bin['m2pool'], 'dist/src/cli/main.js');
  });

  test('mongrel2 listens beyond the container loopback', () => {
    assert.match(args('ENV').join(' '), /M2POOL_HTTP_HOST=0\.0\.0\.0/);
  });

  test('.dockerignore keeps node_modules, dist and .git out of the build context', () => {
    const ignored = readRepoFile('.dockerignore').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(p), p);
  });
});
