/**
 * docs/configuration.md, generated from the settings table (`settings.ts`): one row per setting with its scopes,
 * flags, environment variable, default and help. `npm run settings-doc` writes it; a unit test
 * (test/unit/config/settings-doc.test.ts) fails while the committed file differs from what this generates.
 * @module
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultTextIn, dispatcherFlag, SETTING_LIST, type Scope, type Setting } from './settings';

const SCOPES: readonly Scope[] = ['pool', 'worker', 'dispatcher'];
const COMMAND: Readonly<Record<Scope, string>> = { pool: 'start', worker: 'worker', dispatcher: 'dispatcher' };

/** `text` safe inside a table cell. */
const cell = (text: string): string => text.replace(/\|/g, '\\|');

function flagsOf(s: Setting, scopes: readonly Scope[]): string {
  const byFlag = new Map<string, Scope[]>();
  for (const scope of scopes) {
    const flag = `--${scope === 'dispatcher' ? dispatcherFlag(s) : s.flag}`;
    byFlag.set(flag, [...(byFlag.get(flag) ?? []), scope]);
  }
  return [...byFlag].map(([flag, where]) => `\`${flag}${s.arg === '' ? '' : ` ${s.arg}`}\` (${where.map((w) => COMMAND[w]).join(', ')})`).join('<br>');
}

function defaultsOfRow(s: Setting, scopes: readonly Scope[]): string {
  const texts = scopes.map((scope) => [scope, s[scope] === 'required' ? 'required' : defaultTextIn(s, scope)] as const);
  const distinct = new Set(texts.map(([, t]) => t));
  if (distinct.size === 1) return texts[0]?.[1] ?? '';
  return texts.map(([scope, t]) => `${scope}: ${t ?? 'none'}`).join('<br>');
}

/** The whole of docs/configuration.md. */
export function settingsMarkdown(): string {
  const rows = SETTING_LIST.map((s) => {
    const scopes = SCOPES.filter((scope) => s[scope] !== undefined);
    const env = s.pool === undefined ? '' : `\`${s.env}\``;
    return `| \`${s.key}\` | ${scopes.join(', ')} | ${cell(flagsOf(s, scopes))} | ${env} | ${cell(defaultsOfRow(s, scopes))} | ${cell(s.help)} |`;
  });
  return [
    '# Configuration',
    '',
    '<!-- Generated from src/config/settings.ts by `npm run settings-doc`; do not edit by hand. -->',
    '',
    'Every setting of m2pool, from its one table (`src/config/settings.ts`). **Scope** says which process takes it:',
    '`pool` is a key of the pool configuration (`m2pool start`: flag, `M2POOL_*` variable, or the JSON file of',
    '`--config`, in that order of precedence; nested keys such as `restartBackoff.initialMs` are objects in the file);',
    '`worker` is part of the configuration each worker runs with (handed over by the supervisor, or `m2pool worker`',
    "flags); `dispatcher` is an option of `m2pool dispatcher`. A pool setting that is unset and has no pool default",
    'leaves the worker or the dispatcher its own default. Where the defaults differ by process, each is listed.',
    '',
    '| Key | Scope | Flag | Env | Default | What it does |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** Where the generated file lives. */
export const SETTINGS_DOC = path.resolve(__dirname, '..', '..', '..', 'docs', 'configuration.md');

if (require.main === module) {
  writeFileSync(SETTINGS_DOC, settingsMarkdown());
  process.stdout.write(`wrote ${SETTINGS_DOC}\n`);
}
