/**
 * Parsing of scale requests, shared by the admin API, the CLI and the pm2 action so they accept the same things.
 * - HTTP body (JSON numbers only): `{"workers": 4}` (absolute) or `{"delta": -1}` (relative).
 * - Text (CLI argument, pm2 trigger parameter): `4` (absolute), `+2` / `-1` (relative).
 * Range checks against minWorkers/maxWorkers happen in `Supervisor.scale`, the one place that knows them.
 * @module
 */
/** Absolute worker count, or a change relative to the current desired count. */
export type ScaleTarget = number | { readonly delta: number };

/** Outcome of `Supervisor.scale`; `status` is the HTTP status the admin API answers with. */
export type ScaleResult =
  | { readonly ok: true; readonly previous: number; readonly desired: number }
  | { readonly ok: false; readonly status: 400 | 409; readonly error: string };

/** Outcome of `Supervisor.reload`. */
export type ReloadResult =
  /** `changed`: top-level config keys the re-read configuration changed (empty without a config source). */
  | { readonly ok: true; readonly generation: number; readonly changed?: readonly string[] }
  /** 409: the pool is stopping; 400: the re-read configuration is invalid; 422: the app does not load (nothing changed). */
  | { readonly ok: false; readonly status: 400 | 409 | 422; readonly error: string };

/** The answer to a scale or a reload once the pool is stopping. */
export const POOL_STOPPING = { ok: false, status: 409, error: 'the pool is stopping' } as const;

/** A parsed request, or the problem with it. */
export type ParsedScale = { readonly ok: true; readonly target: ScaleTarget } | { readonly ok: false; readonly error: string };

const MAX_ABS = 1_000_000;

function fail(error: string): ParsedScale {
  return { ok: false, error };
}

/** Parse `N`, `+N` or `-N`. */
export function parseScaleText(text: string): ParsedScale {
  const m = /^\s*([+-]?)(\d{1,7})\s*$/.exec(text);
  if (m === null) return fail(`expected N, +N or -N (e.g. 4, +1, -2), got ${JSON.stringify(text)}`);
  const n = Number(m[2]);
  if (m[1] === '') return { ok: true, target: n };
  if (n === 0) return fail('a relative change must not be zero');
  return { ok: true, target: { delta: m[1] === '-' ? -n : n } };
}

/** Parse the JSON body of `POST /pool/scale`. */
export function parseScaleBody(body: unknown): ParsedScale {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return fail('body must be a JSON object: {"workers": N} or {"delta": N}');
  }
  const keys = Object.keys(body);
  const extra = keys.filter((k) => k !== 'workers' && k !== 'delta');
  if (extra.length > 0) return fail(`unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k)).join(', ')}; use "workers" or "delta"`);
  if (keys.length !== 1) return fail('give exactly one of "workers" (absolute) or "delta" (relative)');
  const { workers, delta } = body as { workers?: unknown; delta?: unknown };
  if (workers !== undefined) {
    if (typeof workers !== 'number' || !Number.isInteger(workers)) return fail(`"workers" must be an integer, got ${JSON.stringify(workers)}`);
    if (workers < 0) return fail(`"workers" must not be negative, got ${workers}`);
    if (workers > MAX_ABS) return fail(`"workers" is absurdly large: ${workers}`);
    return { ok: true, target: workers };
  }
  if (typeof delta !== 'number' || !Number.isInteger(delta)) return fail(`"delta" must be an integer, got ${JSON.stringify(delta)}`);
  if (delta === 0) return fail('"delta" must not be zero');
  if (Math.abs(delta) > MAX_ABS) return fail(`"delta" is absurdly large: ${delta}`);
  return { ok: true, target: { delta } };
}

/** The JSON body the CLI sends for a parsed target. */
export function scaleBody(target: ScaleTarget): { workers: number } | { delta: number } {
  return typeof target === 'number' ? { workers: target } : { delta: target.delta };
}
