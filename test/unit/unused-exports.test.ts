/**
 * No dead code behind an `export`: every function, class, constant or enum a file of `src/` exports is used
 * somewhere — in its own file, another file of `src/`, a test, an example, a dashboard or a deploy script. (An
 * export nothing uses is invisible to tsc's noUnusedLocals.) Exported types are not checked: some exist to
 * document a wire format. Words are matched outside comments, so a name only mentioned in prose counts as unused;
 * a name that also appears in a string counts as used (cheap, and errs on the quiet side).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SCANNED = ['src', 'test', 'examples', 'dashboards', 'deploy'];

/** Source files (`.ts`, `.js`) under `dir`, `node_modules` skipped. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : filesUnder(p);
    return /\.(ts|js|cjs|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Names of the values (not types) a module exports by declaration. */
function exportedValues(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const names: string[] = [];
  for (const statement of source.statements) {
    const modifiers = ts.canHaveModifiers(statement) ? ts.getModifiers(statement) : undefined;
    if (modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) !== true) continue;
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) names.push(d.name.text);
    } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement)) && statement.name !== undefined) {
      names.push(statement.name.text);
    }
  }
  return names;
}

/** `text` without its comments (block and line), so prose mentions are not uses. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** `file: name` for each exported value of a file in `exporting` that no code (its own file included) uses. */
function deadExports(texts: ReadonlyMap<string, string>, exporting: (file: string) => boolean): string[] {
  const code = new Map([...texts].map(([f, t]) => [f, withoutComments(t)]));
  const dead: string[] = [];
  for (const [file, text] of texts) {
    if (!exporting(file) || !file.endsWith('.ts')) continue;
    for (const name of exportedValues(file, text)) {
      const word = new RegExp(`\\b${name}\\b`, 'g');
      const own = code.get(file)!.match(word)?.length ?? 0;
      const used = own > 1 || [...code].some(([other, t]) => other !== file && new RegExp(`\\b${name}\\b`).test(t));
      if (!used) dead.push(`${file}: ${name}`);
    }
  }
  return dead;
}

test('the scan finds an export nothing uses, also when prose mentions it (so the check below can fail)', () => {
  const texts = new Map([
    ['src/a.ts', 'export function used(): void {}\nexport const unused = 1;\nexport interface OnlyAType { x: number }\n'],
    ['src/b.ts', "import { used } from './a';\n/** Not {@link unused}. */\nused(); // nor unused\n"],
  ]);
  assert.deepEqual(deadExports(texts, (f) => f.startsWith('src/')), ['src/a.ts: unused']);
});

test('every value src/ exports is used somewhere', () => {
  const files = [...SCANNED.flatMap((d) => filesUnder(path.join(ROOT, d))), path.join(ROOT, 'ecosystem.config.js')];
  const texts = new Map(files.filter((f) => existsSync(f)).map((f) => [path.relative(ROOT, f).split(path.sep).join('/'), readFileSync(f, 'utf8')]));
  assert.ok(texts.has('src/protocol/tnetstring.ts'), 'scanned the sources');
  assert.deepEqual(deadExports(texts, (f) => f.startsWith('src/')), []);
});
