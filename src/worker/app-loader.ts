/**
 * Loads the user's application module for a worker. The module exports an `app` (or a default export) with
 * a `dispatch` method — an `App` from m2pool.
 * @module
 */
import path from 'node:path';
import { ErrorCode, M2PoolError, errorMessage } from '../errors';
import { isWorkerApp, type WorkerApp } from './app-contract';

/** Resolve `spec` like Node would from `cwd` (relative paths against cwd, bare names from cwd's node_modules). */
export function resolveAppModule(spec: string, cwd: string): string {
  const candidate = spec.startsWith('.') || path.isAbsolute(spec) ? path.resolve(cwd, spec) : spec;
  try {
    return require.resolve(candidate, { paths: [cwd] });
  } catch (err) {
    throw new M2PoolError(ErrorCode.APP_LOAD, `cannot find app module ${JSON.stringify(spec)} from ${cwd}: ${errorMessage(err)}`, { cause: err });
  }
}

/** Load the module and return its app. Throws M2PoolError(APP_LOAD) with the reason on any failure. */
export function loadApp(spec: string, cwd: string): WorkerApp {
  const file = resolveAppModule(spec, cwd);
  let mod: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- user modules are CommonJS or compiled to it
    mod = require(file);
  } catch (err) {
    throw new M2PoolError(ErrorCode.APP_LOAD, `app module ${file} failed to load: ${errorMessage(err)}`, { cause: err });
  }
  const exports = mod as { app?: unknown; default?: unknown };
  const app = [exports?.app, exports?.default, (exports?.default as { app?: unknown } | undefined)?.app, mod].find(isWorkerApp);
  if (app === undefined) {
    throw new M2PoolError(ErrorCode.APP_LOAD, `app module ${file} exports no app: expected \`export const app = new App()\``);
  }
  return app;
}
