/**
 * `m2pool dev --app src/app.ts`: the edit–reload loop. Brings up Mongrel2 with the shipped config (unless
 * endpoints are given after `--`), runs `m2pool start` with pretty logs and one worker, watches the app's folder
 * (`fs.watch`, recursive) and applies every change with the pool's rolling reload: new workers first, then the old
 * ones drain, so no request is lost; an app that no longer loads is refused by the reload's app check and the
 * running workers keep serving. TypeScript runs directly through tsx (`--import tsx`), which must be installed in
 * the project (`npm install --save-dev tsx`): m2pool does not ship a compiler.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { readTokenFile } from '../config/admin-token';
import { FlagReader, UsageError, type FlagSpecs } from '../config/flags';
import { command } from './command';
import { formatHostPort, parseHostPort } from '../config/host-port';
import { SHIPPED_MONGREL2_CONFIG } from '../config/mongrel2-endpoints';
import { DEFAULTS } from '../config/schema';
import { settingOf } from '../config/settings';
import { ExitCode, errorMessage } from '../errors';
import { DEFAULT_HTTP_PORT } from '../mongrel2/launcher';
import { withEnvPort } from './mongrel2-command';

const CLI = path.join(__dirname, 'main.js');

const DEV_FLAGS: FlagSpecs = {
  app: { type: 'string', placeholder: 'module', description: 'the app module (.ts runs through tsx, which must be installed in the project)' },
  port: { type: 'string', placeholder: 'n', description: "Mongrel2's HTTP port", defaultText: '$M2POOL_HTTP_PORT, else 6767' },
  admin: { type: 'string', placeholder: 'host:port', description: 'admin API of the pool (the watcher reloads through it)', defaultText: '$M2POOL_ADMIN, else 127.0.0.1:9890' },
  watch: { type: 'string', placeholder: 'dir', description: 'folder to watch (recursively)', defaultText: "the app's folder" },
  'mongrel2-config': { type: 'string', placeholder: 'file', description: 'mongrel2.conf to run', defaultText: 'deploy/mongrel2/mongrel2.conf' },
};


const TS_EXTENSIONS = /\.(ts|tsx|mts|cts)$/;
/** Folders whose changes are never the app's source. */
const IGNORED = /(^|[\\/])(node_modules|\.git|dist|run|coverage)([\\/]|$)/;

/** Run the command; resolves with the exit code once the pool and Mongrel2 have stopped. */
export const devCommand = command(
  {
    usage: 'm2pool dev --app <module> [options] [-- start options]',
    summary: "Development: Mongrel2 (unless -- --send-spec/--dispatcher is given), a pool of one worker with pretty logs, and a\nwatcher that applies every saved change with a rolling reload (a change that breaks the app is refused; the old\ncode keeps serving). Options after -- go to 'm2pool start'.",
    flags: DEV_FLAGS,
    positionals: true,
  },
  async (values, positionals) => {
    const r = new FlagReader(withEnvPort(values));
    const app = r.required('app');
    const port = r.int('port', DEFAULT_HTTP_PORT, 1, 65535);
    const adminDefault = process.env[settingOf('admin').env] || DEFAULTS.admin;
    const adminText = r.string('admin', adminDefault) ?? adminDefault;
    const admin = parseHostPort(adminText);
    if (typeof admin === 'string') r.issues.push(`--admin: ${admin}`);
    r.check();
    if (typeof admin === 'string') return ExitCode.USAGE;
    const cwd = process.cwd();
    const appPath = path.resolve(cwd, app);
    const watchDir = path.resolve(cwd, r.string('watch') ?? (existsSync(appPath) && statSync(appPath).isDirectory() ? appPath : path.dirname(appPath)));
    const env = { ...process.env };
    if (TS_EXTENSIONS.test(app) || existsSync(path.join(appPath, 'index.ts'))) {
      if (!resolvesFrom('tsx', cwd)) throw new UsageError(`--app ${app} is TypeScript, and tsx is not installed in this project: npm install --save-dev tsx`);
      env['NODE_OPTIONS'] = `${env['NODE_OPTIONS'] ?? ''} --import tsx`.trim();
    }
    const startArgs = positionals;
    const token = startAdminToken(startArgs, process.env);
    if (typeof token !== 'string') throw new UsageError(token.problem);
    const ownMongrel2 = !startArgs.some((a) => a === '--send-spec' || a === '--dispatcher' || a.startsWith('--send-spec=') || a.startsWith('--dispatcher='));
    const children: ChildProcess[] = [];
    const stopAll = async (): Promise<void> => {
      for (const child of [...children].reverse()) await stopChild(child);
    };
    let mongrel2: ChildProcess | undefined;
    if (ownMongrel2) {
      const config = r.string('mongrel2-config') ?? SHIPPED_MONGREL2_CONFIG;
      mongrel2 = spawn(process.execPath, [CLI, 'mongrel2', '--config', config, '--port', String(port)], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
      children.push(mongrel2);
      if (!(await listening(port, 15_000, mongrel2))) {
        await stopAll();
        process.stderr.write(`m2pool dev: Mongrel2 did not listen on port ${port} (see run/mongrel2/logs/error.log)\n`);
        return ExitCode.BOOT_ERROR;
      }
    }
    const defaults = [
      ...(startArgs.some((a) => a.startsWith('--workers')) ? [] : ['--workers', '1']),
      ...(startArgs.some((a) => a.startsWith('--log-format')) ? [] : ['--log-format', 'pretty']),
      ...(ownMongrel2 && values['mongrel2-config'] !== undefined ? ['--mongrel2-config', String(values['mongrel2-config'])] : []),
    ];
    const pool = spawn(process.execPath, [CLI, 'start', '--app', app, '--admin', formatHostPort(admin), ...defaults, ...startArgs], { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(pool);
    const adminUrl = `http://${formatHostPort(admin)}`;
    const exited = new Promise<number>((resolve) => pool.once('exit', (code) => resolve(code ?? ExitCode.CRASH)));
    const ready = await Promise.race([waitReady(`${adminUrl}/readyz`, 60_000), exited.then(() => false)]);
    if (!ready) {
      await stopAll();
      process.stderr.write(`m2pool dev: the pool did not become ready; its log is above\n`);
      return ExitCode.BOOT_ERROR;
    }
    const site = ownMongrel2 ? `http://127.0.0.1:${port}/` : 'your Mongrel2';
    process.stdout.write(`\nm2pool dev is up.\n\n  site        ${site}\n  pool        ${adminUrl}/pool   (node ${path.relative(cwd, CLI) || CLI} status --admin ${formatHostPort(admin)})\n  watching    ${watchDir}: a saved change reloads the pool (new workers first; a broken app is refused)\n  stop        Ctrl-C\n\n`);
    const watcher: FSWatcher = watchAndReload(watchDir, adminUrl, token);
    const stop = new Promise<number>((resolve) => {
      const onSignal = (): void => resolve(ExitCode.OK);
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });
    const code = await Promise.race([stop, exited]);
    watcher.close();
    await stopAll();
    return code;
  },
);

/**
 * The admin token the pool will require (`m2pool start` reads the same): `--admin-token` or `--admin-token-file`
 * after `--`, else M2POOL_ADMIN_TOKEN / M2POOL_ADMIN_TOKEN_FILE from the environment it inherits; '' = none.
 */
export function startAdminToken(startArgs: readonly string[], env: Readonly<Record<string, string | undefined>>): string | { readonly problem: string } {
  const flag = (name: string): string | undefined => {
    let value: string | undefined;
    startArgs.forEach((a, i) => {
      if (a === `--${name}`) value = startArgs[i + 1];
      else if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3);
    });
    return value;
  };
  const fromFile = (file: string): string | { readonly problem: string } => {
    const r = readTokenFile(file);
    return 'problem' in r ? { problem: `admin token file: ${r.problem}` } : r.token;
  };
  const token = flag('admin-token');
  if (token !== undefined) return token;
  const file = flag('admin-token-file');
  if (file !== undefined) return fromFile(file);
  const envToken = env[settingOf('adminToken').env];
  if (envToken !== undefined && envToken !== '') return envToken;
  const envFile = env[settingOf('adminTokenFile').env];
  return envFile !== undefined && envFile !== '' ? fromFile(envFile) : '';
}

/** Watch `dir`; 200 ms after the last change, ask the pool for a rolling reload and say how it went. */
function watchAndReload(dir: string, adminUrl: string, token: string): FSWatcher {
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  return watch(dir, { recursive: true }, (_event, file) => {
    if (file !== null && IGNORED.test(file.toString())) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(() => reload(adminUrl, token, file?.toString() ?? dir));
    }, 200);
  });
}

async function reload(adminUrl: string, token: string, changed: string): Promise<void> {
  try {
    const { status, body } = await post(`${adminUrl}/pool/reload`, token);
    if (status === 202) process.stdout.write(`m2pool dev: ${changed} changed: reloading (generation ${String(body['generation'])})\n`);
    else process.stdout.write(`m2pool dev: ${changed} changed: reload refused (${status}): ${String(body['error'] ?? '')}\n  the running workers keep serving the previous code; fix the error and save again\n`);
  } catch (err) {
    process.stdout.write(`m2pool dev: reload failed: ${errorMessage(err)}\n`);
  }
}

function post(url: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const headers = token === '' ? {} : { authorization: `Bearer ${token}` };
    const req = request(url, { method: 'POST', agent: false, timeout: 60_000, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: { error: text } });
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function resolvesFrom(name: string, dir: string): boolean {
  try {
    require.resolve(name, { paths: [dir] });
    return true;
  } catch {
    return false;
  }
}

/** True once something accepts connections on 127.0.0.1:`port` within `timeoutMs` (false early if `child` exits). */
async function listening(port: number, timeoutMs: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

async function waitReady(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await new Promise<number>((resolve) => {
      const req = request(url, { agent: false, timeout: 2_000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (status === 200) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

/** SIGTERM, then SIGKILL after the pool's own stop budget. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  await gone;
  clearTimeout(timer);
}
