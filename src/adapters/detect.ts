/**
 * Which kind of app a module exports, and the {@link WorkerApp} that runs it: m2pool's own `App` (a `dispatch`
 * method), a fetch-style app (a `fetch` method: Hono, itty-router, `export default { fetch }`), or a node:http
 * request listener (a function `(req, res)`: Express, connect, Koa's `app.callback()`).
 * `auto` tries them in that order; a kind given explicitly only accepts its own shape.
 * @module
 */
import type { Logger } from 'pino';
import type { AppKind } from '../config/app-kind';
import { isWorkerApp, type WorkerApp } from './app-contract';
import type * as FetchModule from './fetch';
import type { FetchHandler } from './fetch';
import type * as NodeHttpModule from './node-http';
import type { NodeListener } from './node-http';

export { APP_KINDS, isAppKind, type AppKind } from '../config/app-kind';

/** What each kind looks like, for error messages. */
export const APP_KIND_SHAPES: Readonly<Record<Exclude<AppKind, 'auto'>, string>> = {
  m2pool: 'an m2pool App (`export const app = new App()`)',
  fetch: 'an object with a fetch(Request) method (Hono, itty-router: `export default app`)',
  node: 'a node:http request listener (req, res) (Express, connect: `export default app`; Koa: `export default app.callback()`)',
};

function isFetchHandler(x: unknown): x is FetchHandler {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && typeof (x as { fetch?: unknown }).fetch === 'function';
}

/** The app of `kind` that `x` is (auto: the first kind it fits), or undefined. */
export function adaptApp(x: unknown, kind: AppKind, logger?: Logger): WorkerApp | undefined {
  if ((kind === 'auto' || kind === 'm2pool') && isWorkerApp(x)) return x;
  if (kind === 'm2pool') return undefined;
  // The adapters load only for the app that needs one: node-http pulls in node:http (~3 MiB of RSS per idle worker
  // that an m2pool App never uses).
  if ((kind === 'auto' || kind === 'fetch') && isFetchHandler(x)) {
    const { FetchAdapter } = require('./fetch') as typeof FetchModule;
    return new FetchAdapter(x, logger);
  }
  if (kind === 'fetch' || typeof x !== 'function') return undefined;
  const { NodeHttpAdapter } = require('./node-http') as typeof NodeHttpModule;
  return new NodeHttpAdapter(x as NodeListener, logger);
}
