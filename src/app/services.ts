/**
 * The app-wide services a `Context` reaches: sessions, templates, error pages, the current-user resolver. One
 * frozen object per app, shared by every request: a request pays for a service only when its handler uses it
 * (`ctx.session`, `ctx.render`, a guarded route).
 * The types `AppServices` and `AuthOptions` live in `context.ts`, which reads them (this file sits above it).
 * @module
 */

import { ConfigError } from '../errors';
import type { AppServices, AuthOptions } from './context';
import { SessionManager, type SessionOptions } from './session/session';
import type { ErrorPages, TemplateEngine } from './templates/engine';

export type { AppServices, AuthOptions };

/** The services of an app without any (the default). */
export const NO_SERVICES: AppServices = Object.freeze({ sessions: undefined, templates: undefined, errorPages: Object.freeze({}), auth: undefined });

/** Build the services of `new App(options)`; throws `ConfigError` listing every problem. */
export function createServices(options: { sessions?: SessionOptions; templates?: TemplateEngine; errorPages?: ErrorPages; auth?: AuthOptions }): AppServices {
  if (options.sessions === undefined && options.templates === undefined && options.errorPages === undefined && options.auth === undefined) return NO_SERVICES;
  const problems: string[] = [];
  if (options.errorPages !== undefined && options.templates === undefined) problems.push('errorPages needs templates (a TemplateEngine)');
  if (options.auth !== undefined && typeof options.auth.currentUser !== 'function') problems.push('auth.currentUser must be a function');
  if (options.auth?.loginUrl !== undefined && !options.auth.loginUrl.startsWith('/')) problems.push(`auth.loginUrl must be a path starting with "/", got ${JSON.stringify(options.auth.loginUrl)}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    sessions: options.sessions === undefined ? undefined : new SessionManager(options.sessions),
    templates: options.templates,
    errorPages: options.errorPages ?? {},
    auth: options.auth,
  });
}
