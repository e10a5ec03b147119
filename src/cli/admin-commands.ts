/**
 * `m2pool status | scale | reload | log-level`: thin clients of the supervisor's admin HTTP API, with a timeout and clear
 * errors when the supervisor is unreachable. Exit codes: 0 done, 1 failed (unreachable, rejected), 2 usage.
 * @module
 */
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { readTokenFile } from '../config/admin-token';
import { dialHost, formatHostPort, parseHostPort, type HostPort } from '../config/host-port';
import { DEFAULTS } from '../config/schema';
import { LOG_LEVELS } from '../config/log-level';
import { settingOf } from '../config/settings';
import { ExitCode, errorMessage, isErrnoException } from '../errors';
import { parseScaleText, scaleBody } from '../supervisor/arbiter/scale-request';
import { formatStatus, isPoolSnapshot } from './status-format';
import { formatHelp } from '../config/help';
import type { TextOut } from './start-command';

/** Injectable surroundings of the admin commands. */
export interface AdminCommandDeps {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly stdout?: TextOut;
  readonly stderr?: TextOut;
}

const DEFAULT_TIMEOUT_MS = 5_000;

const COMMON = {
  admin: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Options that take a value: a number after them is their value, not the scale count. */
const VALUE_FLAGS: ReadonlySet<string> = new Set(['--admin', '--token', '--token-file', '--timeout']);

/** The pool's own variables of the admin address and token (`m2pool start` reads the same). */
const ENV = { admin: settingOf('admin').env, token: settingOf('adminToken').env, tokenFile: settingOf('adminTokenFile').env } as const;

const COMMON_HELP: ReadonlyArray<readonly [string, string]> = [
  ['--admin HOST:PORT', `supervisor admin address (default ${DEFAULTS.admin}) [${ENV.admin}]`],
  ['--token TOKEN', `admin bearer token [${ENV.token}]`],
  ['--token-file FILE', `read the admin token from FILE, kept out of ps [${ENV.tokenFile}]`],
  ['--timeout MS', `give up after this long (default ${DEFAULT_TIMEOUT_MS})`],
];

/** Help text of an admin command: its own options, then the common ones. */
function adminHelp(usage: string, summary: readonly string[], own: ReadonlyArray<readonly [string, string]> = []): string {
  return formatHelp({ usage, summary, options: [...own, ...COMMON_HELP] });
}

class CliFailure extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

interface Target {
  readonly at: HostPort;
  readonly token: string;
  readonly timeoutMs: number;
}

/** The admin token: --token, --token-file, M2POOL_ADMIN_TOKEN, M2POOL_ADMIN_TOKEN_FILE, in that order; '' = none. */
function tokenOf(values: { token?: string | undefined; 'token-file'?: string | undefined }, env: AdminCommandDeps['env']): string {
  if (values.token !== undefined) return values.token;
  const file = values['token-file'] ?? (env?.[ENV.token] === undefined ? env?.[ENV.tokenFile] : undefined);
  if (file === undefined || file === '') return env?.[ENV.token] ?? '';
  const r = readTokenFile(file);
  if ('problem' in r) throw new CliFailure(ExitCode.USAGE, `--token-file: ${r.problem}`);
  return r.token;
}

function target(values: { admin?: string | undefined; token?: string | undefined; 'token-file'?: string | undefined; timeout?: string | undefined }, env: AdminCommandDeps['env']): Target {
  const text = values.admin ?? env?.[ENV.admin] ?? DEFAULTS.admin;
  const hp = parseHostPort(text);
  if (typeof hp === 'string') throw new CliFailure(ExitCode.USAGE, `--admin: ${hp}`);
  const timeoutText = values.timeout ?? String(DEFAULT_TIMEOUT_MS);
  const timeoutMs = Number(timeoutText);
  if (!/^\d+$/.test(timeoutText) || timeoutMs < 1) throw new CliFailure(ExitCode.USAGE, `--timeout: expected milliseconds, got ${JSON.stringify(timeoutText)}`);
  return { at: { host: dialHost(hp.host), port: hp.port }, token: tokenOf(values, env), timeoutMs };
}

/** One admin API call. Resolves with the status and parsed JSON body; rejects with a {@link CliFailure}. */
function call(t: Target, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const where = formatHostPort(t.at);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: t.at.host,
        port: t.at.port,
        method,
        path,
        timeout: t.timeoutMs,
        headers: {
          accept: 'application/json',
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          ...(t.token !== '' ? { authorization: `Bearer ${t.token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new CliFailure(ExitCode.CRASH, `reading the answer from ${where}: ${err.message}`)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
          } catch {
            reject(new CliFailure(ExitCode.CRASH, `${where} answered ${res.statusCode ?? '?'} with something that is not JSON: is this the m2pool admin address?`));
          }
        });
      },
    );
    req.on('timeout', () => {
      req.destroy();
      reject(new CliFailure(ExitCode.CRASH, `no answer from the supervisor at ${where} within ${t.timeoutMs} ms`));
    });
    req.on('error', (err) => {
      const why = isErrnoException(err) && err.code === 'ECONNREFUSED' ? 'connection refused' : errorMessage(err);
      reject(new CliFailure(ExitCode.CRASH, `cannot reach the supervisor at ${where} (${why}): is 'm2pool start' running? Point at it with --admin HOST:PORT`));
    });
    req.end(payload);
  });
}

function errorOf(body: unknown, status: number): string {
  const e = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  return typeof e === 'string' ? e : `HTTP ${status}`;
}

async function run(name: string, deps: AdminCommandDeps, fn: (out: TextOut) => Promise<number>): Promise<number> {
  const stderr = deps.stderr ?? process.stderr;
  try {
    return await fn(deps.stdout ?? process.stdout);
  } catch (err) {
    if (err instanceof CliFailure) {
      stderr.write(`m2pool ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    stderr.write(`m2pool ${name}: ${errorMessage(err)}\n`);
    return ExitCode.CRASH;
  }
}

function parse<O extends Record<string, { type: 'string' | 'boolean'; short?: string }>>(args: string[], options: O, positionals: boolean) {
  try {
    return parseArgs({ args, options: { ...COMMON, ...options }, strict: true, allowPositionals: positionals });
  } catch (err) {
    throw new CliFailure(ExitCode.USAGE, errorMessage(err));
  }
}

/** `m2pool status [--json]`: print the pool as a table (or the raw `/pool` JSON). */
export function statusCommand(argv: string[], deps: AdminCommandDeps = {}): Promise<number> {
  return run('status', deps, async (out) => {
    const { values } = parse(argv, { json: { type: 'boolean' } }, false);
    if (values.help === true) {
      out.write(adminHelp('m2pool status [--json] [options]', ['Show the workers of a running pool.'], [['--json', 'print the raw GET /pool document']]));
      return ExitCode.OK;
    }
    const t = target(values, deps.env);
    const r = await call(t, 'GET', '/pool');
    if (r.status !== 200) throw new CliFailure(ExitCode.CRASH, errorOf(r.body, r.status));
    if (values.json === true) out.write(`${JSON.stringify(r.body, null, 2)}\n`);
    else if (isPoolSnapshot(r.body)) out.write(formatStatus(r.body));
    else throw new CliFailure(ExitCode.CRASH, 'the answer does not look like a pool status document');
    return ExitCode.OK;
  });
}

/** `m2pool scale N|+N|-N`: set or change the desired worker count. */
export function scaleCommand(argv: string[], deps: AdminCommandDeps = {}): Promise<number> {
  return run('scale', deps, async (out) => {
    // `-1` would read as an option: take the count out before option parsing (skipping option values).
    const countAt = argv.findIndex((a, i) => /^[+-]?\d+$/.test(a) && !VALUE_FLAGS.has(argv[i - 1] ?? ''));
    const count = countAt >= 0 ? argv[countAt] : undefined;
    const rest = argv.filter((_, i) => i !== countAt);
    const { values, positionals } = parse(rest, {}, true);
    if (values.help === true) {
      out.write(adminHelp('m2pool scale N|+N|-N [options]', ['Set the worker count (N) or change it (+N / -N); surplus workers drain first.']));
      return ExitCode.OK;
    }
    if (count === undefined || positionals.length > 0) {
      throw new CliFailure(ExitCode.USAGE, `expected one count N, +N or -N${positionals.length > 0 ? `, got ${JSON.stringify(positionals.join(' '))}` : ''}`);
    }
    const parsed = parseScaleText(count);
    if (!parsed.ok) throw new CliFailure(ExitCode.USAGE, parsed.error);
    const r = await call(target(values, deps.env), 'POST', '/pool/scale', scaleBody(parsed.target));
    if (r.status !== 200) throw new CliFailure(ExitCode.CRASH, errorOf(r.body, r.status));
    const b = r.body as { previous?: unknown; desired?: unknown };
    out.write(`desired workers: ${String(b.previous)} -> ${String(b.desired)}\n`);
    return ExitCode.OK;
  });
}

/** `m2pool reload`: start a rolling reload (replacements first, then the old workers drain). */
export function reloadCommand(argv: string[], deps: AdminCommandDeps = {}): Promise<number> {
  return run('reload', deps, async (out) => {
    const { values } = parse(argv, {}, false);
    if (values.help === true) {
      out.write(adminHelp('m2pool reload [options]', ['Roll every worker to a new generation without dropping below the desired ready count.']));
      return ExitCode.OK;
    }
    const r = await call(target(values, deps.env), 'POST', '/pool/reload');
    if (r.status !== 202) throw new CliFailure(ExitCode.CRASH, errorOf(r.body, r.status));
    const body = r.body as { generation?: unknown; changed?: unknown };
    const changed = Array.isArray(body.changed) && body.changed.length > 0 ? ` with new settings: ${body.changed.join(', ')}` : '';
    out.write(`rolling reload to generation ${String(body.generation)} started${changed}; follow it with 'm2pool status'\n`);
    return ExitCode.OK;
  });
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * `m2pool log-level [LEVEL] [--slot N]`: without LEVEL, print the levels in force; with it, set the level of the
 * supervisor and every worker (or only of slot N's workers) at runtime. Not persisted across a supervisor restart.
 */
export function logLevelCommand(argv: string[], deps: AdminCommandDeps = {}): Promise<number> {
  return run('log-level', deps, async (out) => {
    const { values, positionals } = parse(argv, { slot: { type: 'string' } }, true);
    if (values.help === true) {
      out.write(
        adminHelp(
          'm2pool log-level [LEVEL] [--slot N] [options]',
          [
            `Show the log levels of a running pool, or set them: LEVEL is one of ${LOG_LEVELS.join(', ')}.`,
            'Applies at once to the supervisor and every worker, and to workers started later; not saved in the config.',
          ],
          [['--slot N', 'only the workers of slot N']],
        ),
      );
      return ExitCode.OK;
    }
    if (positionals.length > 1) throw new CliFailure(ExitCode.USAGE, `expected one LEVEL, got ${JSON.stringify(positionals.join(' '))}`);
    const level = positionals[0];
    let slot: number | undefined;
    if (values.slot !== undefined) {
      if (!/^\d{1,6}$/.test(values.slot)) throw new CliFailure(ExitCode.USAGE, `--slot: expected a slot number, got ${JSON.stringify(values.slot)}`);
      if (level === undefined) throw new CliFailure(ExitCode.USAGE, '--slot needs a LEVEL to set');
      slot = Number(values.slot);
    }
    const t = target(values, deps.env);
    if (level === undefined) {
      const r = await call(t, 'GET', '/log-level');
      if (r.status !== 200 || !isRecord(r.body)) throw new CliFailure(ExitCode.CRASH, errorOf(r.body, r.status));
      const slots = isRecord(r.body['slots']) ? Object.entries(r.body['slots']) : [];
      out.write(`supervisor: ${String(r.body['supervisor'])}\nworkers: ${String(r.body['workers'])}\n${slots.map(([s, l]) => `slot ${s}: ${String(l)}\n`).join('')}`);
      return ExitCode.OK;
    }
    if (!LOG_LEVELS.some((l) => l === level)) throw new CliFailure(ExitCode.USAGE, `unknown log level ${JSON.stringify(level)}: use one of ${LOG_LEVELS.join(', ')}`);
    const r = await call(t, 'PUT', '/log-level', slot === undefined ? { level } : { level, slot });
    if (r.status !== 200 || !isRecord(r.body)) throw new CliFailure(ExitCode.CRASH, errorOf(r.body, r.status));
    const b = r.body;
    const scope = slot === undefined ? 'the supervisor and all workers' : `slot ${slot}`;
    out.write(`log level of ${scope}: ${String(b['previous'])} -> ${String(b['level'])} (${String(b['workers'])} live worker${b['workers'] === 1 ? '' : 's'})\n`);
    return ExitCode.OK;
  });
}
