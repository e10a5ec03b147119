/**
 * Loads the user's application module for a worker. The module exports an `app` (or a default export) with
 * a `dispatch` method — an `App` from m2pool. Loading goes through `import()`, so an ES module (top-level await
 * included) loads as well as a CommonJS one or one compiled to CommonJS by tsc (whose exports `import()` sees as
 * named exports, and as `default`).
 * @module
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, M2PoolError, errorMessage } from '../errors';
import { isWorkerApp, type WorkerApp } from './app-contract';

/** Resolve `spec` like Node would from `cwd` (relative paths against cwd, bare names from cwd's node_modules). */
export function resolveAppModule(spec: string, cwd: string): string {
  const candidate = spec.startsWith('.') || path.isAbsolute(spec) ? path.resolve(cwd, spec) : spec;
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

/** Load the module and return its app. Rejects with M2PoolError(APP_LOAD) and the reason on any failure. */
export async function loadApp(spec: string, cwd: string): Promise<WorkerApp> {
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
  const app = [exports?.app, exports?.default, inner?.app, inner?.default].find(isWorkerApp);
  if (app === undefined) {
    throw new M2PoolError(ErrorCode.APP_LOAD, `app module ${file} exports no app: expected \`export const app = new App()\``);
  }
  return app;
}
