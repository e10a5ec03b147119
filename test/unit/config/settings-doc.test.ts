/**
 * docs/configuration.md is what the settings table generates (`src/config/settings-doc.ts`), and the table itself
 * holds together: every default passes its own check, flags and env names are unique per command, every scope
 * has what it needs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { settingsMarkdown, SETTINGS_DOC } from '../../../src/config/settings-doc';
import { defaultIn, dispatcherFlag, SETTING_LIST, settingsOf, type Scope } from '../../../src/config/settings';

test('docs/configuration.md is the one the settings table generates (npm run settings-doc)', () => {
  assert.equal(readFileSync(SETTINGS_DOC, 'utf8'), settingsMarkdown(), 'docs/configuration.md is stale: run npm run settings-doc and commit it');
});

test('every setting has exactly one row in the doc', () => {
  const doc = settingsMarkdown();
  for (const s of SETTING_LIST) assert.equal(doc.split(`| \`${s.key}\` |`).length, 2, `${s.key}: one row`);
});

test('every default passes its own check, in every scope', () => {
  for (const s of SETTING_LIST) {
    for (const scope of ['pool', 'worker', 'dispatcher'] as const) {
      if (s[scope] === undefined) continue;
      const d = defaultIn(s, scope);
      if (d === undefined) continue;
      // workers: 'auto' is an input, 2 the default; the check takes both.
      assert.deepEqual(s.type.check(d), { value: d }, `${s.key} (${scope}): default ${JSON.stringify(d)}`);
    }
  }
});

test('a scope that needs a default has one; flags are unique per command; env names are unique', () => {
  for (const s of SETTING_LIST) {
    if (s.pool === 'default') assert.notEqual(s.default, undefined, `${s.key}: pool default`);
    if (s.worker !== undefined && s.worker !== 'optional') assert.notEqual(defaultIn(s, 'worker'), undefined, `${s.key}: worker default`);
    if (s.dispatcher !== undefined) assert.notEqual(defaultIn(s, 'dispatcher'), undefined, `${s.key}: dispatcher default`);
  }
  const flagOf = (scope: Scope) => (s: (typeof SETTING_LIST)[number]) => (scope === 'dispatcher' ? dispatcherFlag(s) : s.flag);
  for (const scope of ['pool', 'worker', 'dispatcher'] as const) {
    const flags = settingsOf(scope).map(flagOf(scope));
    assert.equal(new Set(flags).size, flags.length, `${scope}: duplicate flag`);
  }
  const envs = settingsOf('pool').map((s) => s.env);
  assert.equal(new Set(envs).size, envs.length);
});
