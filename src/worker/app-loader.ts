/**
 * Loads the user's application module for a worker. The module exports an `app` (or a default export): an `App`
 * from m2pool, a fetch-style app (Hono) or a node:http listener (Express), see `adapters/detect.ts`. Loading goes through `import()`, so an ES module (top-level await
 * included) loads as well as a CommonJS one or one compiled to CommonJS by tsc (whose exports `import()` sees as
 * named exports, and as `default`).
 * @module
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, M2PoolError, errorMessage } from '../errors';
import { adaptApp, APP_KIND_SHAPES, type AppKind } from '../adapters/detect';
import type { WorkerApp } from './app-contract';

/** Resolve `spec` like Node would from `cwd` (relative paths and existing files against cwd, other bare names from cwd's node_modules). */
export function resolveAppModule(spec: string, cwd: string): string {
  // `examples/hello` means the folder when there is one (as a shell user means it), else the package of that name.
  const local = spec.startsWith('.') || path.isAbsolute(spec) || existsSync(path.resolve(cwd, spec));
  const candidate = local ? path.resolve(cwd, spec) : spec;
  try {
    return require.resolve(candidate, { paths: [cwd] });
  } catch (err) {
    throw new M2PoolError(ErrorCode.APP_LOAD, `cannot find app module ${JSON.stringify(spec)} from ${cwd}: ${firstLine(errorMessage(err))}`, { cause: err });
  }
}

/** Node's not-found message goes on with a "Require stack" of m2pool's own files: noise for the user. */
function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}

/**
 * Load the module and return its app (`kind`: which kind of app to look for; `auto`: the first export that is one
 * of them). Rejects with M2PoolError(APP_LOAD) and the reason on any failure.
 */
export async function loadApp(spec: string, cwd: string, kind: AppKind = 'auto'): Promise<WorkerApp> {
  const file = resolveAppModule(spec, cwd);
  let mod: unknown;
  try {
    // A file URL, not the path: import() takes URLs, and a Windows-style or `#`-bearing path would be misread.
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    throw new M2PoolError(ErrorCode.APP_LOAD, `app module ${file} failed to load: ${errorMessage(err)}`, { cause: err });
  }
  const exports = mod as { app?: unknown; default?: unknown };
  const inner = exports?.default as { app?: unknown; default?: unknown } | undefined;
  // ESM: `export const app` / `export default app`; CommonJS through import(): module.exports is `default`, so
  // `exports.app = …` is also `default.app`, and a tsc-compiled `export default` is `default.default`.
  for (const candidate of [exports?.app, exports?.default, inner?.app, inner?.default]) {
    const app = adaptApp(candidate, kind);
    if (app !== undefined) return app;
  }
  const expected = kind === 'auto' ? Object.values(APP_KIND_SHAPES).join(', or ') : APP_KIND_SHAPES[kind];
  throw new M2PoolError(ErrorCode.APP_LOAD, `app module ${file} exports no app: expected \`app\` or the default export to be ${expected}`);
}
