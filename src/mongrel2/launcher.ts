/**
 * Runs a real Mongrel2 (Debian's mongrel2-core) from a config file: `m2sh load` into a run directory, then
 * `mongrel2 <db> <uuid>` in the foreground with the run directory as its working directory, so the config's
 * relative paths (logs/, run/, tmp/, ipc://run/...) live there (docs/mongrel2.md §6.2, §6.3).
 * @module
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode, M2PoolError, errorMessage } from '../errors';
import { expandConfigTemplate } from './config-template';

const execFileAsync = promisify(execFile);

/** A server entry of a loaded config. */
export interface Mongrel2Server {
  readonly name: string;
  readonly host: string;
  readonly uuid: string;
}

/** Settings for {@link startMongrel2}. */
export interface Mongrel2LaunchOptions {
  /** mongrel2.conf (m2sh's Python-like syntax). */
  readonly configPath: string;
  /** Working directory of Mongrel2; created with run/, logs/ and tmp/ inside. */
  readonly runDir: string;
  /** Server name to run when the config has several. @default the first */
  readonly serverName?: string | undefined;
  /** Value of `${PORT}` in the config. @default 6767 */
  readonly port?: number | undefined;
  /** Where Mongrel2's stdout/stderr go. @default 'inherit' */
  readonly stdio?: 'inherit' | 'ignore' | 'pipe';
}

/** A started Mongrel2. */
export interface Mongrel2Process {
  readonly child: ChildProcess;
  readonly server: Mongrel2Server;
  readonly runDir: string;
}

/** Environment for m2sh: it logs an error when LOGNAME is unset (docs/mongrel2.md §6.2). */
function m2shEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LOGNAME: process.env['LOGNAME'] ?? 'm2pool' };
}

/** Create the run directory layout Mongrel2 needs (startup aborts if logs/ or run/ is missing). */
export async function prepareRunDir(runDir: string): Promise<void> {
  await Promise.all(['run', 'logs', 'tmp'].map((d) => mkdir(path.join(runDir, d), { recursive: true })));
}

/** Port used for `${PORT}` when none is given. */
export const DEFAULT_HTTP_PORT = 6767;

/**
 * `m2sh load` the config into `<runDir>/config.sqlite` and list its servers. `${RUN_DIR}` in the config is
 * replaced by the absolute run directory first, so paths handed to workers (ipc endpoints, upload files) can
 * be absolute without hard-coding a location; `${PORT}` by `port`; `${NAME:-default}` by the environment
 * (see {@link expandConfigTemplate}).
 */
export async function loadConfig(configPath: string, runDir: string, port = DEFAULT_HTTP_PORT): Promise<Mongrel2Server[]> {
  const db = path.join(runDir, 'config.sqlite');
  const expanded = path.join(runDir, 'mongrel2.conf');
  try {
    const text = await readFile(configPath, 'utf8');
    await writeFile(expanded, expandConfigTemplate(text, { runDir: path.resolve(runDir), port }));
    await rm(db, { force: true });
    await execFileAsync('m2sh', ['load', '-config', expanded, '-db', db], { cwd: runDir, env: m2shEnv() });
    const { stdout } = await execFileAsync('m2sh', ['servers', '-db', db], { cwd: runDir, env: m2shEnv() });
    const servers = stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols.length === 3 && /^[0-9a-f-]{36}$/i.test(cols[2] ?? ''))
      .map(([name, host, uuid]) => ({ name: name ?? '', host: host ?? '', uuid: uuid ?? '' }));
    if (servers.length === 0) throw new Error(`no servers in ${configPath}`);
    return servers;
  } catch (err) {
    const hint = isNotFound(err) ? ' (is mongrel2-core installed? apt-get install mongrel2-core)' : '';
    throw new M2PoolError(ErrorCode.MONGREL2_START, `cannot load ${configPath}: ${errorMessage(err)}${hint}`, { cause: err });
  }
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}

/** Remove a pid file whose process is gone, so a restart after a crash is not refused. */
async function removeStalePidFile(runDir: string): Promise<void> {
  const pidFile = path.join(runDir, 'run', 'mongrel2.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  let alive = false;
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
  }
  if (!alive) await rm(pidFile, { force: true });
}

/** Load the config and start Mongrel2 in the foreground (server.daemonize must be 0). */
export async function startMongrel2(options: Mongrel2LaunchOptions): Promise<Mongrel2Process> {
  const runDir = path.resolve(options.runDir);
  await prepareRunDir(runDir);
  const servers = await loadConfig(options.configPath, runDir, options.port);
  const server = options.serverName === undefined ? servers[0] : servers.find((s) => s.name === options.serverName);
  if (server === undefined) {
    throw new M2PoolError(ErrorCode.MONGREL2_START, `no server named ${JSON.stringify(options.serverName)} in ${options.configPath} (have: ${servers.map((s) => s.name).join(', ')})`);
  }
  await removeStalePidFile(runDir);
  const child = spawn('mongrel2', ['config.sqlite', server.uuid], { cwd: runDir, stdio: options.stdio ?? 'inherit' });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) =>
      reject(new M2PoolError(ErrorCode.MONGREL2_START, `cannot run mongrel2: ${err.message}${isNotFound(err) ? ' (apt-get install mongrel2-core)' : ''}`, { cause: err })),
    );
  });
  return { child, server, runDir };
}
