/**
 * The auth guard (Brubeck's `@authenticated` and `@web_authenticated`): a middleware that lets a
 * request through only when the app's `auth.currentUser` resolves a user. Without one, an API route answers 401 and
 * a page redirects to the login URL with the page asked for in `next`. The route option `auth: 'api' | 'page'`
 * puts it first among the route's middleware; `app.use(requireUser('api'))` guards every route.
 * @module
 */

import { HttpError } from '../http/http-error';
import type { Middleware } from './middleware';

/** Where a guarded page sends a client that is not logged in, unless `auth.loginUrl` says otherwise. */
export const DEFAULT_LOGIN_URL = '/login';

/**
 * The guard middleware. `api`: 401 without a user. `page`: 303 to `loginUrl?next=<the request URI>` (a request for
 * the login URL itself gets 401 instead of a redirect loop).
 * @example app.get('/admin', handler, { middleware: requireUser('page', '/signin') });
 */
export function requireUser(mode: 'api' | 'page', loginUrl: string = DEFAULT_LOGIN_URL): Middleware {
  return async (ctx, next) => {
    const user = await ctx.currentUser();
    if (user !== undefined) return next();
    if (mode === 'api' || ctx.req.path === loginUrl) throw new HttpError(401, 'authentication required');
    await ctx.res.redirect(`${loginUrl}?next=${encodeURIComponent(ctx.req.uri)}`, 303);
    return ctx.res;
  };
}
