import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { expandConfigTemplate } from '../../../src/mongrel2/config-template';
import { loadConfig, prepareRunDir } from '../../../src/mongrel2/launcher';
import { REPO_ROOT } from './support';

const DEFAULT_CONF = path.join(REPO_ROOT, 'deploy', 'mongrel2', 'mongrel2.conf');
const M2SH_MISSING = existsSync('/usr/bin/m2sh') ? false : '/usr/bin/m2sh not found: apt-get install mongrel2-core';
const values = { runDir: '/srv/m2', port: 8080 };

describe('mongrel2.conf templates', () => {
  test('RUN_DIR and PORT come from m2pool mongrel2, other names from the environment', () => {
    const text = 'a=${RUN_DIR}/x p=${PORT} h="${M2POOL_HTTP_HOST:-127.0.0.1}" q=${Q:-}';
    assert.equal(expandConfigTemplate(text, values, {}), 'a=/srv/m2/x p=8080 h="127.0.0.1" q=');
    assert.equal(expandConfigTemplate(text, values, { M2POOL_HTTP_HOST: '0.0.0.0', Q: 'z' }), 'a=/srv/m2/x p=8080 h="0.0.0.0" q=z');
  });

  test('an empty variable takes the default, as in the shell', () => {
    assert.equal(expandConfigTemplate('${H:-d}', values, { H: '' }), 'd');
  });

  test('a variable with neither value nor default is an error naming every such variable', () => {
    assert.throws(() => expandConfigTemplate('${A} ${B} ${A} ${C:-c}', values, {}), /without a value or a default: A, B \(/);
  });

  test('lower-case and malformed placeholders are left alone', () => {
    assert.equal(expandConfigTemplate('${lower} $NAME ${', values, {}), '${lower} $NAME ${');
  });

  test('the default config binds 127.0.0.1 unless M2POOL_HTTP_HOST says otherwise', () => {
    const text = readFileSync(DEFAULT_CONF, 'utf8');
    assert.match(expandConfigTemplate(text, values, {}), /^ {4}bind_addr="127\.0\.0\.1",$/m);
    const open = expandConfigTemplate(text, values, { M2POOL_HTTP_HOST: '0.0.0.0' });
    assert.match(open, /^ {4}bind_addr="0\.0\.0\.0",$/m);
    assert.match(open, /^ {4}port=8080,$/m);
    assert.doesNotMatch(open, /\$\{/);
  });

  test('m2sh loads the default config with M2POOL_HTTP_HOST set', { skip: M2SH_MISSING }, async (t: TestContext) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'm2pool-conf-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const saved = process.env['M2POOL_HTTP_HOST'];
    process.env['M2POOL_HTTP_HOST'] = '0.0.0.0';
    t.after(() => (saved === undefined ? delete process.env['M2POOL_HTTP_HOST'] : (process.env['M2POOL_HTTP_HOST'] = saved)));
    await prepareRunDir(dir);
    const servers = await loadConfig(DEFAULT_CONF, dir, 7001);
    assert.deepEqual(servers.map((s) => s.name), ['main']);
    assert.match(readFileSync(path.join(dir, 'mongrel2.conf'), 'utf8'), /bind_addr="0\.0\.0\.0",\n.*\n {4}port=7001,/);
  });
});
