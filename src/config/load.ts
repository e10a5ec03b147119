/**
 * Assemble the pool configuration from its sources — CLI flags > `M2POOL_*` env vars > JSON config file >
 * defaults — and validate it once. Every source enters as `unknown`; strings from env and flags are coerced by
 * the setting's kind (`settings.ts`) and anything that does not coerce is left for the validator to report.
 * @module
 */
import { readMongrel2Endpoints, SHIPPED_MONGREL2_CONFIG } from './mongrel2-endpoints';
import { readFileSync } from 'node:fs';
import { ConfigError, errorMessage, isErrnoException } from '../errors';
import { readTokenFile } from './admin-token';
import { settingsOf, type PoolKey, type Setting } from './settings';
import type { PoolConfig } from './schema';
import { validateConfig } from './validate';

/** The raw inputs of {@link resolveConfig}. */
export interface RawSources {
  /** Parsed JSON config file, with the name to report problems under. */
  readonly file?: { readonly name: string; readonly data: unknown };
  /** Environment (usually `process.env`); only the `M2POOL_*` names of the settings table are read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** CLI values keyed by config key, as `node:util` parseArgs returns them (string or string[]). */
  readonly flags?: Readonly<Partial<Record<PoolKey, unknown>>>;
  /** Reads `adminTokenFile`; without it a token file is reported as unreadable (keeps this function pure). */
  readonly readFile?: (file: string) => string;
}

/** The inputs of {@link loadConfig}: like {@link RawSources} but the file is a path still to read. */
export interface ConfigSources {
  readonly configFile?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly flags?: Readonly<Partial<Record<PoolKey, unknown>>>;
}

const POOL_SETTINGS = settingsOf('pool');
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;

/** Turn a string from env or argv into the key's type where it cleanly can. */
function coerce(f: Setting, value: unknown, fromEnv: boolean): unknown {
  if (f.type.kind === 'strings') {
    if (typeof value === 'string') {
      return fromEnv ? value.split(',').map((s) => s.trim()).filter((s) => s !== '') : [value];
    }
    return value;
  }
  if (Array.isArray(value)) return value.length === 1 ? coerce(f, value[0], fromEnv) : value;
  if (f.type.kind === 'bool') {
    if (value === true || value === 'true' || value === '1' || value === 'yes') return true;
    if (value === 'false' || value === '0' || value === 'no') return false;
    return value;
  }
  if (f.type.kind === 'int' && typeof value === 'string' && INTEGER.test(value.trim())) return Number(value.trim());
  if (f.type.kind === 'number' && typeof value === 'string' && DECIMAL.test(value.trim())) return Number(value.trim());
  return value;
}

function setPath(target: Record<string, unknown>, key: PoolKey, value: unknown): void {
  const [head, tail] = key.split('.') as [string, string | undefined];
  if (tail === undefined) {
    target[head] = value;
    return;
  }
  const existing = target[head];
  const nested: Record<string, unknown> =
    typeof existing === 'object' && existing !== null && !Array.isArray(existing) ? { ...existing } : {};
  nested[tail] = value;
  target[head] = nested;
}

function hasPath(data: Record<string, unknown>, key: PoolKey): boolean {
  const [head, tail] = key.split('.') as [string, string | undefined];
  const v = data[head];
  if (tail === undefined) return v !== undefined;
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>)[tail] !== undefined;
}

/**
 * Merge already-read sources and validate them. Pure: no I/O.
 * @throws ConfigError listing every problem, each tagged with the source it came from.
 */
export function resolveConfig(sources: RawSources): PoolConfig {
  const merged: Record<string, unknown> = {};
  const origin = new Map<PoolKey, string>();
  const issues: string[] = [];

  const fileData = sources.file?.data;
  if (sources.file !== undefined) {
    if (typeof fileData === 'object' && fileData !== null && !Array.isArray(fileData)) {
      const data = fileData as Record<string, unknown>;
      for (const [k, v] of Object.entries(data)) {
        merged[k] = typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...v } : v;
      }
      for (const f of POOL_SETTINGS) if (hasPath(data, f.key)) origin.set(f.key, sources.file.name);
    } else {
      issues.push(`${sources.file.name}: the config file must hold a JSON object`);
    }
  }
  for (const f of POOL_SETTINGS) {
    const v = sources.env?.[f.env];
    if (v === undefined || v === '') continue;
    setPath(merged, f.key, coerce(f, v, true));
    origin.set(f.key, f.env);
  }
  for (const f of POOL_SETTINGS) {
    const v = sources.flags?.[f.key];
    if (v === undefined) continue;
    setPath(merged, f.key, coerce(f, v, false));
    origin.set(f.key, `--${f.flag}`);
  }

  issues.push(...takeTokenFile(merged, origin, sources.readFile));
  issues.push(...takeMongrel2Endpoints(merged, origin, sources.readFile));

  const options = sources.file === undefined ? {} : { unknownKeyOrigin: sources.file.name };
  let config: PoolConfig;
  try {
    config = validateConfig(merged, { ...options, originOf: (k) => origin.get(k) });
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError([...issues, ...err.issues]);
    throw err;
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}

/**
 * Read the config file (if any), merge every source and validate.
 * @throws ConfigError listing every problem found, the file's own problems included.
 */
export async function loadConfig(sources: ConfigSources): Promise<PoolConfig> {
  // NOTE: one small file, read before anything starts: the synchronous read is the simpler one, and reload uses it too.
  return loadConfigSync(sources);
}

/**
 * {@link loadConfig}, synchronously: a reload re-reads the sources from inside the supervisor's loop (a small
 * file, once per operator action).
 * @throws ConfigError listing every problem.
 */
export function loadConfigSync(sources: ConfigSources): PoolConfig {
  if (sources.configFile === undefined) return resolveConfig(restOf(sources));
  const name = sources.configFile;
  let text: string;
  try {
    text = readFileSync(name, 'utf8');
  } catch (err) {
    throw unreadable(name, err);
  }
  return resolveWithFile(sources, name, text);
}

function restOf(sources: ConfigSources): RawSources {
  return { ...(sources.env ? { env: sources.env } : {}), ...(sources.flags ? { flags: sources.flags } : {}), readFile: (f) => readFileSync(f, 'utf8') };
}

/** Put the content of `adminTokenFile` into `adminToken` (the validator then checks it like any token). */
function takeTokenFile(merged: Record<string, unknown>, origin: Map<PoolKey, string>, read: RawSources['readFile']): string[] {
  const file = merged['adminTokenFile'];
  if (typeof file !== 'string' || file.trim() === '') return []; // absent, or the validator reports the bad value
  const from = origin.get('adminTokenFile') ?? 'config';
  const token = merged['adminToken'];
  if (token !== undefined && token !== '') {
    return [`adminTokenFile: give the admin token or a token file, not both (adminToken from ${origin.get('adminToken') ?? 'config'}, adminTokenFile from ${from})`];
  }
  const r = read === undefined ? { problem: 'token files are read by loadConfig, not resolveConfig' } : readTokenFile(file, read);
  if ('problem' in r) return [`adminTokenFile: ${r.problem} (from ${from})`];
  merged['adminToken'] = r.token;
  origin.set('adminToken', `the file ${file}`);
  return [];
}

/**
 * Without endpoints (and no remote dispatcher), the handler of `mongrel2Config` or the shipped mongrel2.conf
 * (config/mongrel2-endpoints.ts). A named config that cannot be used is a problem; the shipped one missing (no
 * file access: `resolveConfig` alone) leaves the static defaults.
 */
function takeMongrel2Endpoints(merged: Record<string, unknown>, origin: Map<PoolKey, string>, read: RawSources['readFile']): string[] {
  if (merged['sendSpecs'] !== undefined || merged['recvSpecs'] !== undefined || merged['dispatcher'] !== undefined) return [];
  const named = merged['mongrel2Config'];
  if (read === undefined || (named !== undefined && typeof named !== 'string')) return [];
  const file = named ?? SHIPPED_MONGREL2_CONFIG;
  try {
    const found = readMongrel2Endpoints(file, process.cwd(), read);
    merged['sendSpecs'] = found.sendSpecs;
    merged['recvSpecs'] = found.recvSpecs;
    origin.set('sendSpecs', `the Handler of ${file}`);
    origin.set('recvSpecs', `the Handler of ${file}`);
    if (merged['controlSpecs'] === undefined && found.controlSpecs.length > 0) {
      merged['controlSpecs'] = found.controlSpecs;
      origin.set('controlSpecs', `the control_port of ${file}`);
    }
    return [];
  } catch (err) {
    return named === undefined ? [] : [`mongrel2Config: ${errorMessage(err)} (from ${origin.get('mongrel2Config') ?? 'config'})`];
  }
}

function unreadable(name: string, err: unknown): ConfigError {
  const why = isErrnoException(err) && err.code === 'ENOENT' ? 'no such file' : errorMessage(err);
  return new ConfigError([`${name}: cannot read the config file: ${why}`]);
}

function resolveWithFile(sources: ConfigSources, name: string, text: string): PoolConfig {
  let data: unknown;
  try {
    data = JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigError([`${name}: not valid JSON: ${errorMessage(err)}`]);
  }
  return resolveConfig({ ...restOf(sources), file: { name, data } });
}
