/**
 * Routing: the `Router` contract and `OrderedRouter`, a first-match-wins list of compiled patterns
 * (Brubeck's `(url_pattern, handler)` list).
 * @module
 */

import { ConfigError } from '../errors';
import { tryDecodeURIComponent } from '../http/parse';

/** Route a handler for every method (`app.all()`). */
export const METHOD_ALL = '*';

/** A route pattern: a path pattern string (see {@link compilePattern}) or a RegExp with named groups. */
export type RoutePattern = string | RegExp;

/** Path parameters: named groups / `:name` segments, percent-decoded; a trailing `*` is `params['*']`. */
export type Params = Readonly<Record<string, string>>;

/** What `match` found. `method-not-allowed` lists the methods the path accepts (for Allow). */
export type RouteMatch<T> =
  | { readonly kind: 'found'; readonly handler: T; readonly params: Params }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[]; readonly handlers: readonly T[] }
  | { readonly kind: 'not-found' };

/** The router contract (hono's `Router<T>`): register, then match a method and a raw path. */
export interface Router<T> {
  readonly name: string;
  /** Register `handler` for `method` (uppercase, or `METHOD_ALL`). */
  add(method: string, pattern: RoutePattern, handler: T): void;
  match(method: string, path: string): RouteMatch<T>;
}

const WILDCARD_GROUP = 'm2poolWildcard';
const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)/;
// Allow lists methods in this order, then any others alphabetically.
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * Compile a path pattern to an anchored RegExp. Syntax:
 * - literal text matches itself exactly (case-sensitive; `/a` and `/a/` differ);
 * - `:name` at the start of a segment matches one non-empty segment (`[^/]+`) into `params.name`;
 * - a trailing `*` matches the rest of the path into `params['*']`; `/files/*` also matches `/files`.
 * @example compilePattern('/users/:id/*') // ^/users/(?<id>[^/]+)(?:/(?<m2poolWildcard>.*))?$
 */
export function compilePattern(pattern: string): RegExp {
  if (!pattern.startsWith('/')) throw new ConfigError([`route pattern must start with "/": ${pattern}`]);
  let rest = pattern;
  let tail = '';
  if (rest.endsWith('*')) {
    rest = rest.slice(0, -1);
    tail = rest.endsWith('/') ? `(?:/(?<${WILDCARD_GROUP}>.*))?` : `(?<${WILDCARD_GROUP}>.*)`;
    if (rest.endsWith('/')) rest = rest.slice(0, -1);
  }
  if (rest.includes('*')) throw new ConfigError([`route pattern may only end with "*": ${pattern}`]);
  const names = new Set<string>();
  let source = '^';
  for (const segment of rest.split('/').slice(1)) {
    source += '/';
    const param = PARAM.exec(segment);
    if (param?.[1] === undefined) {
      source += escapeRegExp(segment);
      continue;
    }
    if (names.has(param[1])) throw new ConfigError([`duplicate parameter :${param[1]} in route ${pattern}`]);
    names.add(param[1]);
    source += `(?<${param[1]}>[^/]+)${escapeRegExp(segment.slice(param[0].length))}`;
  }
  return new RegExp(`${source}${tail}$`);
}

interface Route<T> {
  readonly method: string;
  readonly regexp: RegExp;
  readonly handler: T;
}

/**
 * Ordered routes, first match wins. HEAD is served by a GET route unless a HEAD (or all-methods) route
 * matches the path anywhere in the list. RegExp patterns are used as given (anchor them: `^…$`), minus
 * the stateful `g`/`y` flags.
 */
export class OrderedRouter<T> implements Router<T> {
  readonly name = 'ordered';
  readonly #routes: Route<T>[] = [];

  add(method: string, pattern: RoutePattern, handler: T): void {
    const regexp = typeof pattern === 'string' ? compilePattern(pattern) : new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    this.#routes.push({ method: method === METHOD_ALL ? METHOD_ALL : method.toUpperCase(), regexp, handler });
  }

  match(method: string, path: string): RouteMatch<T> {
    // Made only when a path matches with another method: a hit on the first matching route allocates nothing.
    let handlers: T[] | undefined;
    let methods: Set<string> | undefined;
    let headFallback: RouteMatch<T> | undefined;
    for (const route of this.#routes) {
      const m = route.regexp.exec(path);
      if (m === null) continue;
      if (route.method === method || route.method === METHOD_ALL) return found(route, m);
      if (method === 'HEAD' && route.method === 'GET') headFallback ??= found(route, m);
      (handlers ??= []).push(route.handler);
      (methods ??= new Set()).add(route.method);
    }
    if (headFallback !== undefined) return headFallback;
    if (handlers === undefined || methods === undefined) return { kind: 'not-found' };
    return { kind: 'method-not-allowed', allow: allowList(methods), handlers };
  }
}

/** The Allow header value's methods: HEAD wherever GET is, OPTIONS always, in a stable order. */
export function allowList(methods: Iterable<string>): string[] {
  const set = new Set(methods);
  if (set.has('GET')) set.add('HEAD');
  set.add('OPTIONS');
  const known = METHOD_ORDER.filter((m) => set.has(m));
  const others = [...set].filter((m) => !METHOD_ORDER.includes(m)).sort();
  return [...known, ...others];
}

const NO_PARAMS: Params = Object.freeze({});

function found<T>(route: Route<T>, m: RegExpExecArray): RouteMatch<T> {
  const groups = m.groups;
  if (groups === undefined) return { kind: 'found', handler: route.handler, params: NO_PARAMS };
  // Keys come from the route definition, never from the client, so a plain object is safe.
  const params: Record<string, string> = {};
  for (const name in groups) {
    const value = groups[name];
    if (value === undefined) continue;
    // Only a value with an escape needs decoding (the common case has none).
    params[name === WILDCARD_GROUP ? '*' : name] = value.includes('%') ? tryDecodeURIComponent(value) : value;
  }
  return { kind: 'found', handler: route.handler, params: Object.freeze(params) };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
