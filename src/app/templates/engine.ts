/**
 * The template adapter: what `ctx.render()` needs from a template engine. One engine ships
 * ({@link LiquidTemplates}); another (Nunjucks, Eta, Handlebars…) plugs in by implementing {@link TemplateEngine}.
 * @module
 */

/** A template engine as `ctx.render()` and the error pages use it. */
export interface TemplateEngine {
  /**
   * Render template `name` (relative to the engine's root, with or without its extension) with `data`. Must escape
   * interpolated values for HTML unless the template says otherwise, and should cache compiled templates.
   */
  render(name: string, data: Readonly<Record<string, unknown>>): Promise<string>;
}

/** Templates of the framework's own error responses: `new App({ templates, errorPages: { 404: 'not-found' } })`. */
export interface ErrorPages {
  /** Rendered for 404 with `{ status, message, path }`. */
  readonly 404?: string;
  /** Rendered for 500 with `{ status, message, path }` (the message is the status text unless `exposeErrors`). */
  readonly 500?: string;
}
