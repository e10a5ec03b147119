/**
 * The app-wide services a `Context` reaches: sessions, templates, error pages, the current-user resolver (issue 21,
 * items 6–8). One frozen object per app, shared by every request: a request pays for a service only when its
 * handler uses it (`ctx.session`, `ctx.render`, a guarded route).
 * @module
 */

import { ConfigError } from '../errors';
import type { Context } from './context';
import { SessionManager, type SessionOptions } from './session/session';
import type { ErrorPages, TemplateEngine } from './templates/engine';

/** How the app finds who is logged in, for guarded routes (`auth` route option) and `ctx.currentUser()`. */
export interface AuthOptions {
  /**
   * The logged-in user of a request, or undefined/null for none. Usually reads the session:
   * `async (ctx) => ctx.session.get('user')`.
   */
  readonly currentUser: (ctx: Context<unknown, unknown>) => unknown;
  /** Where a guarded page (`auth: 'page'`) sends a client that is not logged in; `?next=` carries the page. @default '/login' */
  readonly loginUrl?: string;
}

/** What `Context` can reach of the app. */
export interface AppServices {
  readonly sessions: SessionManager | undefined;
  readonly templates: TemplateEngine | undefined;
  readonly errorPages: ErrorPages;
  readonly auth: AuthOptions | undefined;
}

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
