/**
 * Request validation through the Standard Schema interface (https://standardschema.dev), which zod 4,
 * valibot and arktype implement: no validator is bundled or required.
 * @module
 */

import { HttpError } from '../http/http-error';
import type { Request } from '../http/request';

/** One problem reported by a schema (Standard Schema v1 `Issue`). */
export interface StandardIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** Standard Schema v1 `Result`. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> };

/** The part of Standard Schema v1 m2pool uses; any compliant schema (e.g. a zod schema) fits. */
export interface StandardSchema<Output = unknown> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: unknown; readonly output: Output } | undefined;
  };
}

/**
 * A schema built on first use: `build` runs when the first request is validated, not when the route is
 * registered, so a validation library a worker may never need is not loaded at start (zod adds ~6 MiB to every
 * idle worker). Load the library inside `build` (`require`), keeping only a type import at the top.
 * @example app.get('/slow', handler, { query: lazySchema(() => require('zod').z.object({ ms: ... })) })
 */
export function lazySchema<Output>(build: () => StandardSchema<Output>): StandardSchema<Output> {
  return new LazySchema(build);
}

/** A class with a prototype getter, not an object literal with one (see `ExchangeScope` in exchange-scope.ts). */
class LazySchema<Output> implements StandardSchema<Output> {
  #build: (() => StandardSchema<Output>) | undefined;
  #schema: StandardSchema<Output> | undefined;

  constructor(build: () => StandardSchema<Output>) {
    this.#build = build;
  }

  get '~standard'(): StandardSchema<Output>['~standard'] {
    if (this.#schema === undefined) {
      this.#schema = (this.#build as () => StandardSchema<Output>)();
      this.#build = undefined;
    }
    return this.#schema['~standard'];
  }
}

/** An issue as the client sees it: `path` is dotted (`items.0.name`), empty for the root value. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

/** Validate `value`; the result is either the schema's output or the issues, never a throw for bad input. */
export async function validate<Output>(
  schema: StandardSchema<Output>,
  value: unknown,
): Promise<{ readonly ok: true; readonly value: Output } | { readonly ok: false; readonly issues: ValidationIssue[] }> {
  const result = await schema['~standard'].validate(value);
  if (result.issues === undefined) return { ok: true, value: result.value };
  return { ok: false, issues: result.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) };
}

/**
 * Validate or throw the framework's 400: `HttpError` whose details render as
 * `{ "error": "validation failed", "issues": [{ "path": "a.b", "message": "..." }] }`.
 */
export async function validateOrThrow<Output>(schema: StandardSchema<Output>, value: unknown): Promise<Output> {
  const result = await validate(schema, value);
  if (result.ok) return result.value;
  throw new HttpError(400, 'validation failed', { details: { issues: result.issues } });
}

/**
 * The value a body schema validates: the parsed form for `application/x-www-form-urlencoded`, the fields of a
 * `multipart/form-data` body (its files are read past and not kept: the handler reads them with `req.parts()`),
 * `undefined` for an empty body, otherwise the parsed JSON (a bad JSON body is a 400 before validation).
 */
export function bodyForValidation(req: Request): unknown {
  if (req.contentType === 'application/x-www-form-urlencoded') return req.form();
  if (req.contentType === 'multipart/form-data') return req.multipart({ files: 'discard' }).then((form) => form.fields);
  if (req.bodySize === 0) return undefined;
  return req.json();
}

function formatPath(path: StandardIssue['path']): string {
  if (path === undefined) return '';
  return path.map((seg) => String(typeof seg === 'object' ? seg.key : seg)).join('.');
}
