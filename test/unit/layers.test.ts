/**
 * Layers point down (docs/architecture.md): no import cycle between files or between folders of `src/` (type-only
 * imports count: they tie the files together for the reader as much as value imports do); the supervisor never
 * loads the framework, the HTTP model or the protocol codecs, and the framework entry never loads zeromq's native
 * addon. The load checks run in a fresh process, as the README's one-liners do, so what this process already loaded
 * does not count.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..', '..');

const SRC = path.join(ROOT, 'src');

type Graph = ReadonlyMap<string, readonly string[]>;

/** Every `.ts` file under `dir`, as paths relative to `src/` with `/` separators. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path.relative(SRC, p).split(path.sep).join('/')] : [];
  });
}

/** The file an import specifier of `from` names: `x.ts`, `x/index.ts` (relative specifiers only; packages are not ours). */
function resolveImport(from: string, specifier: string): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier.replace(/\.js$/, '')));
  return [`${base}.ts`, `${base}/index.ts`].find((f) => existsSync(path.join(SRC, f)));
}

/** File-level import graph of `src/`: static, type-only, re-exports, `import()` and `require()` all count. */
function fileGraph(): Graph {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(path.join(SRC, file), 'utf8'), true, true);
    const deps: string[] = [];
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = resolveImport(file, fileName);
      assert.ok(target !== undefined, `${file}: cannot resolve '${fileName}'`);
      deps.push(target);
    }
    graph.set(file, deps);
  }
  return graph;
}

/** The folder a file belongs to for the layer rules: its top folder under `src/`, or itself for a file at the top. */
function folderOf(file: string): string {
  const slash = file.indexOf('/');
  return slash < 0 ? file : file.slice(0, slash);
}

/** The folder graph: an edge a → b when a file of a imports a file of b (a ≠ b). */
function folderGraph(files: Graph): Graph {
  const graph = new Map<string, Set<string>>();
  for (const [from, deps] of files) {
    const edges = graph.get(folderOf(from)) ?? new Set<string>();
    graph.set(folderOf(from), edges);
    for (const to of deps) if (folderOf(to) !== folderOf(from)) edges.add(folderOf(to));
  }
  return new Map([...graph].map(([k, v]) => [k, [...v]]));
}

/** Strongly connected components with more than one member, or with a self-edge (Tarjan): each is a cycle. */
function cycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** For a failing assertion: the imports inside one cycle, so the message says which lines to change. */
function cycleImports(graph: Graph, members: readonly string[]): string {
  const inCycle = new Set(members);
  return members.flatMap((from) => (graph.get(from) ?? []).filter((to) => inCycle.has(to)).map((to) => `  ${from} -> ${to}`)).join('\n');
}

test('the cycle finder finds a file cycle, a self-import and a folder cycle (the checks below can fail)', () => {
  const files: Graph = new Map([
    ['a/one.ts', ['a/two.ts']],
    ['a/two.ts', ['b/three.ts']],
    ['b/three.ts', ['a/one.ts', 'b/three.ts']],
    ['b/four.ts', []],
    ['c/five.ts', ['b/four.ts']],
  ]);
  assert.deepEqual(cycles(files), [['a/one.ts', 'a/two.ts', 'b/three.ts']]);
  assert.deepEqual(cycles(new Map([['x.ts', ['x.ts']]])), [['x.ts']]);
  assert.deepEqual(cycles(folderGraph(files)), [['a', 'b']]);
  assert.deepEqual(cycles(folderGraph(new Map([['a/one.ts', ['b/four.ts']], ['b/four.ts', []]]))), []);
});

test('no import cycle between files of src/ (type-only imports included)', () => {
  const graph = fileGraph();
  assert.ok(graph.size > 100 && graph.has('protocol/request-parser.ts'), `scanned ${graph.size} files`);
  assert.ok((graph.get('protocol/push-wire.ts') ?? []).includes('protocol/dispatch-wire.ts'), 'the scan sees imports');
  const found = cycles(graph);
  assert.deepEqual(found, [], found.map((c) => cycleImports(graph, c)).join('\n\n'));
});

test('no import cycle between folders of src/', () => {
  const files = fileGraph();
  const folders = folderGraph(files);
  const found = cycles(folders);
  const edgesOf = (members: readonly string[]): string =>
    [...files]
      .flatMap(([from, deps]) => deps.filter((to) => folderOf(to) !== folderOf(from) && members.includes(folderOf(from)) && members.includes(folderOf(to))).map((to) => `  ${from} -> ${to}`))
      .join('\n');
  assert.deepEqual(found, [], found.map(edgesOf).join('\n\n'));
});

/** Modules under `dist/src` or `node_modules` matching `pattern` that `entry` loads. */
function loadedBy(entry: string, pattern: string): string[] {
  const script = `require(${JSON.stringify(entry)}); const re = new RegExp(${JSON.stringify(pattern)}); process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((f) => re.test(f))));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' })) as string[];
}

test('the supervisor entry loads no app/, http/ or protocol/ module', () => {
  assert.deepEqual(loadedBy('./dist/src/cli/start-command', '[\\\\/]dist[\\\\/]src[\\\\/](app|http|protocol)[\\\\/]'), []);
});

test("require('m2pool') loads no zeromq module, and m2pool/worker does (the check can fail)", () => {
  assert.deepEqual(loadedBy('m2pool', '[\\\\/]node_modules[\\\\/]zeromq[\\\\/]'), []);
  assert.ok(loadedBy('m2pool/worker', '[\\\\/]node_modules[\\\\/]zeromq[\\\\/]').length > 0);
});

test('config/ (a leaf) loads no worker/, transport/, app/, http/ or protocol/ module', () => {
  const dir = path.join(ROOT, 'dist', 'src', 'config');
  const modules = readdirSync(dir).filter((f) => f.endsWith('.js'));
  assert.ok(modules.includes('worker-config.js'), modules.join(', '));
  for (const m of modules) assert.deepEqual(loadedBy(`./dist/src/config/${m}`, '[\\\\/]dist[\\\\/]src[\\\\/](worker|transport|app|http|protocol)[\\\\/]'), [], m);
});
