import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readRepoFile, runTool } from './support';

const CLI = 'dist/src/cli/main.js';
const pkg = JSON.parse(readRepoFile('package.json')) as { version: string; files: string[]; license: string };

describe('package hygiene', () => {
  test('the tarball holds the build, examples, deployment files, dashboards and docs, and no test', () => {
    // --ignore-scripts: the test runs on the build npm test just made (prepare would rebuild it).
    const r = runTool('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
    assert.equal(r.status, 0, r.output);
    const files = ((JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files ?? []).map((f) => f.path);
    for (const want of ['package.json', 'README.md', 'LICENSE', CLI, 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/examples/hello/index.js', 'examples/hello/package.json', 'ecosystem.config.js', 'deploy/start.js', 'deploy/prerequisites.js', 'deploy/mongrel2/mongrel2.conf', 'deploy/systemd/m2pool.service', 'deploy/container/Dockerfile', 'deploy/kubernetes/base/kustomization.yaml', 'deploy/prometheus/m2pool-rules.yml', 'dashboards/m2pool.json', 'docs/runbook.md']) {
      assert.ok(files.includes(want), `${want} missing from the tarball`);
    }
    const tests = files.filter((f) => /(^|\/)test\/|\.test\.|^dist\/test|^src\/|^\.ci\//.test(f));
    assert.deepEqual(tests, [], 'tests or sources in the tarball');
    // A guard against whole folders slipping in: dist/src ships a .js and a .d.ts per module.
    assert.ok(files.length < 600, `${files.length} files`);
  });

  test('no private key, token or source map without its source in the tarball', () => {
    const r = runTool('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
    assert.equal(r.status, 0, r.output);
    const files = ((JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files ?? []).map((f) => f.path);
    assert.deepEqual(files.filter((f) => /\.(key|pem)$|(^|\/)(admin-)?token$|dev-secrets\//.test(f)), [], 'secrets in the tarball');
    // The maps point at src/*.ts, which is not shipped: they are left out (the build keeps them for development).
    assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'source maps without their sources');
    assert.ok(files.includes('deploy/kubernetes/overlays/dev/make-dev-secrets.js'), 'the dev secrets maker is shipped');
  });

  test('LICENSE is the MIT licence of the m2pool authors, as package.json says', () => {
    assert.equal(pkg.license, 'MIT');
    assert.match(readRepoFile('LICENSE'), /^MIT License\n\nCopyright \(c\) \d{4} m2pool authors\n/);
  });

  test('m2pool --version and -v print the package version', () => {
    for (const flag of ['--version', '-v']) {
      const r = runTool(process.execPath, [CLI, flag]);
      assert.equal(r.status, 0, r.output);
      assert.equal(r.stdout, `m2pool ${pkg.version}\n`);
    }
  });

  test('every command answers -h and --help in the one help layout', () => {
    const top = runTool(process.execPath, [CLI, '--help']);
    assert.equal(top.status, 0, top.output);
    const commands = [...((top.stdout.split('\nCommands:\n')[1] ?? '').split('\n\n')[0] ?? '').matchAll(/^ {2}([a-z0-9-]+) /gm)].map((m) => m[1] ?? '');
    assert.ok(commands.length >= 7, commands.join(' '));
    for (const command of commands) {
      for (const flag of ['-h', '--help']) {
        const r = runTool(process.execPath, [CLI, command, flag]);
        assert.equal(r.status, 0, `${command} ${flag}: ${r.output}`);
        assert.match(r.stdout, new RegExp(`^Usage: m2pool ${command}\\b.*\\n\\n(.+\\n)+\\nOptions:\\n( {2}\\S.*\\n)+$`), `${command} ${flag}:\n${r.stdout}`);
        assert.match(r.stdout, /\n {2}-h, --help +show this help\n$/, `${command} ${flag}`);
        assert.doesNotMatch(r.stdout, /<[a-z-]+>/, `${command}: placeholders are upper case, not <angle>`);
      }
    }
  });
});
