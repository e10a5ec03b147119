/**
 * The small checks configuration readers are built from (gunicorn `validate_pos_int` style): each takes a raw
 * value and gives the typed value or a problem. The pool configuration (`validate.ts`) and the configuration a
 * forked worker is handed (`worker-config-codec.ts`) both read with them, so a setting is checked the same way
 * wherever it arrives.
 * @module
 */
import { availableParallelism } from 'node:os';
import { parseHostPort } from './host-port';
import { LOG_LEVELS, type LogLevel } from './log-level';
import { parseUploadStore } from './upload-template';

/** Options of a {@link Reader}. */
export interface ReaderOptions<K extends string> {
  /** Names where a key's value came from (`--workers`, `M2POOL_WORKERS`, `pool.json`), appended to its problems. */
  readonly originOf?: (key: K) => string | undefined;
}

/** Checks one raw value: the typed value, or a problem saying what is wrong. */
export type Check<T> = (value: unknown) => { readonly value: T } | { readonly problem: string };

/** Largest delay `setTimeout` honours; longer ones fire at once (Node docs, timers). */
export const MAX_TIMER_MS = 2_147_483_647;

/** A raw value as it appears in a problem. */
export const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(JSON.stringify(v) ?? v));

/** An integer in [min, max]. */
export function int(min: number, max: number = Number.MAX_SAFE_INTEGER): Check<number> {
  return (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? { value: v }
      : { problem: `must be an integer from ${min} to ${max}, got ${show(v)}` };
}

/** A duration in milliseconds `setTimeout` honours. */
export const ms = (min: number): Check<number> => int(min, MAX_TIMER_MS);

/** A string (`nonEmpty`: with a visible character). */
export function str(nonEmpty: boolean): Check<string> {
  return (v) =>
    typeof v === 'string' && (!nonEmpty || v.trim() !== '')
      ? { value: v }
      : { problem: nonEmpty ? `must be a non-empty string, got ${show(v)}` : `must be a string, got ${show(v)}` };
}

/** Mongrel2's `upload.temp_store` template (`parseUploadStore`'s rules). */
export const uploadTemplate: Check<string> = (v) => {
  if (typeof v !== 'string') return { problem: `must be a string, got ${show(v)}` };
  try {
    parseUploadStore(v);
    return { value: v };
  } catch (err) {
    return { problem: err instanceof Error ? err.message : String(err) };
  }
};

/** `dispatch` or `direct`. */
export const topology: Check<'dispatch' | 'direct'> = (v) => (v === 'dispatch' || v === 'direct' ? { value: v } : { problem: `must be dispatch or direct, got ${show(v)}` });

/** `true` or `false`. */
export const bool: Check<boolean> = (v) => (typeof v === 'boolean' ? { value: v } : { problem: `must be true or false, got ${show(v)}` });

/** Where workers reach a dispatcher: `ipc://PATH` or `tcp://HOST:PORT`. */
export const workerEndpoint: Check<string> = (v) =>
  typeof v === 'string' && /^(ipc|tcp):\/\/\S+$/.test(v) ? { value: v } : { problem: `must be ipc://PATH or tcp://HOST:PORT, got ${show(v)}` };

/** A worker count, or `auto`: the CPUs this process may use (`os.availableParallelism()`, as pm2's `-i max`). */
export const workerCount: Check<number> = (v) => (v === 'auto' ? { value: availableParallelism() } : int(0, 1024)(v));

/** `json` or `pretty`. */
export const logFormat: Check<'json' | 'pretty'> = (v) => (v === 'json' || v === 'pretty' ? { value: v } : { problem: `must be json or pretty, got ${show(v)}` });

/** A `HOST:PORT` string (`host-port.ts`). */
export const hostPort: Check<string> = (v) => {
  if (typeof v !== 'string') return { problem: `must be a HOST:PORT string, got ${show(v)}` };
  const hp = parseHostPort(v);
  return typeof hp === 'string' ? { problem: hp } : { value: v };
};

/** `on` or `off`. */
export const onOff: Check<'on' | 'off'> = (v) => (v === 'on' || v === 'off' ? { value: v } : { problem: `must be on or off, got ${show(v)}` });

/** One of {@link LOG_LEVELS}. */
export const level: Check<LogLevel> = (v) => {
  const found = LOG_LEVELS.find((l) => l === v);
  return found !== undefined ? { value: found } : { problem: `must be one of ${LOG_LEVELS.join('|')}, got ${show(v)}` };
};

/** An array of at least `minCount` distinct strings, each passing `each` (which returns a problem or undefined). */
export function strings(each: (s: string) => string | undefined, minCount: number): Check<readonly string[]> {
  return (v) => {
    if (!Array.isArray(v) || !v.every((s): s is string => typeof s === 'string')) {
      return { problem: `must be an array of strings, got ${show(v)}` };
    }
    if (v.length < minCount) return { problem: `needs at least ${minCount} entr${minCount === 1 ? 'y' : 'ies'}` };
    const bad = v.map(each).filter((p): p is string => p !== undefined);
    if (bad.length > 0) return { problem: bad.join('; ') };
    const dup = v.find((s, i) => v.indexOf(s) !== i);
    return dup === undefined ? { value: Object.freeze([...v]) } : { problem: `lists ${JSON.stringify(dup)} twice` };
  };
}

/** A ZeroMQ endpoint m2pool connects or binds. */
export const ENDPOINT = /^(tcp|ipc|inproc):\/\/\S+$/;
/** Distinct ZeroMQ endpoints, at least `minCount`. */
export const endpointList = (minCount: number): Check<readonly string[]> => strings((s) => (ENDPOINT.test(s) ? undefined : `${JSON.stringify(s)} is not a tcp://, ipc:// or inproc:// endpoint`), minCount);

/** One or more distinct ZeroMQ endpoints. */
export const endpoints = endpointList(1);

/** A plain object (not null, not an array). */
export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** One `KEY: unknown key` problem per key of `raw` not in `known` (`prefix` names the enclosing object). */
export function unknownKeyIssues(raw: Record<string, unknown>, known: ReadonlySet<string>, prefix = ''): string[] {
  return Object.keys(raw).filter((k) => !known.has(k)).map((k) => `${prefix}${k}: unknown key`);
}

/** Collects problems while reading keys of the raw object. */
export class Reader<K extends string> {
  readonly issues: string[] = [];
  readonly #failed = new Set<K>();
  constructor(private readonly raw: Record<string, unknown>, private readonly options: ReaderOptions<K> = {}) {}

  problem(key: K, message: string): void {
    const origin = this.options.originOf?.(key);
    this.issues.push(`${key}: ${message}${origin !== undefined ? ` (from ${origin})` : ''}`);
    this.#failed.add(key);
  }

  ok(...keys: K[]): boolean {
    return keys.every((k) => !this.#failed.has(k));
  }

  #get(key: K): unknown {
    const [head, tail] = key.split('.') as [string, string | undefined];
    const v = this.raw[head];
    if (tail === undefined) return v;
    return isRecord(v) ? v[tail] : undefined;
  }

  /** The valid value, or `fallback` when absent (absent) or invalid (problem recorded). */
  read<T>(key: K, check: Check<T>, fallback: T): T {
    const v = this.#get(key);
    if (v === undefined) return fallback;
    const r = check(v);
    if ('problem' in r) {
      this.problem(key, r.problem);
      return fallback;
    }
    return r.value;
  }

  /** Like {@link read} for a key that must be present: absent is a problem too. */
  required<T>(key: K, check: Check<T>, fallback: T): T {
    if (this.#get(key) !== undefined) return this.read(key, check, fallback);
    this.problem(key, 'is missing');
    return fallback;
  }

  /** Like {@link read} for keys without a default; `null` counts as absent. */
  optional<T>(key: K, check: Check<T>): T | undefined {
    const v = this.#get(key);
    if (v === undefined || v === null) return undefined;
    const r = check(v);
    if ('problem' in r) {
      this.problem(key, r.problem);
      return undefined;
    }
    return r.value;
  }
}
