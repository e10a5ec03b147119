/**
 * `LiquidTemplates`: the {@link TemplateEngine} on liquidjs — Jinja-like syntax (`{{ user.name }}`,
 * `{% if %}`, `{% for %}`, layouts with `{% layout %}`/`{% block %}`), sandboxed (a template reaches only the data
 * it is given: own properties, no JavaScript), maintained. Output escaping is ON: every `{{ }}` is HTML-escaped
 * unless the template pipes it through `| raw`. Compiled templates are cached (per engine) after the first render.
 * liquidjs is loaded on the first render, so an app that renders nothing does not load it.
 * @module
 */

import type * as LiquidModule from 'liquidjs';
import type { TemplateEngine } from './engine';

/** Options of {@link LiquidTemplates}. */
export interface LiquidTemplatesOptions {
  /** Directory (or directories) the templates are read from. */
  readonly root: string | readonly string[];
  /** Extension added to a name given without one. @default '.liquid' */
  readonly extname?: string;
  /** Cache compiled templates (turn off while editing templates). @default true */
  readonly cache?: boolean;
  /** HTML-escape every output unless `| raw`. Turning it off is unsafe for pages. @default true */
  readonly escape?: boolean;
}

/**
 * Liquid templates from a directory.
 * @example
 * const app = new App({ templates: new LiquidTemplates({ root: path.join(__dirname, 'views') }) });
 * app.get('/hi/:name', (ctx) => ctx.render('hello', { name: ctx.params['name'] })); // views/hello.liquid
 */
export class LiquidTemplates implements TemplateEngine {
  readonly #options: LiquidTemplatesOptions;
  #engine: LiquidModule.Liquid | undefined;

  constructor(options: LiquidTemplatesOptions) {
    this.#options = options;
  }

  render(name: string, data: Readonly<Record<string, unknown>>): Promise<string> {
    try {
      return this.#liquid().renderFile(name, data) as Promise<string>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #liquid(): LiquidModule.Liquid {
    if (this.#engine !== undefined) return this.#engine;
    // NOTE: require, not a top-level import, so liquidjs is loaded by the first render only.
    const { Liquid } = require('liquidjs') as typeof LiquidModule;
    const o = this.#options;
    const root = typeof o.root === 'string' ? [o.root] : [...o.root];
    this.#engine = new Liquid({
      root,
      partials: root,
      layouts: root,
      extname: o.extname ?? '.liquid',
      cache: o.cache ?? true,
      ...(o.escape === false ? {} : { outputEscape: 'escape' as const }),
      ownPropertyOnly: true,
      strictFilters: true,
      // Templates come from the app's own directory: no absolute or `..` names from outside it.
      relativeReference: false,
    });
    return this.#engine;
  }
}
