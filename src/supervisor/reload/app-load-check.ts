/**
 * The `--app` check at configuration time and before every reload: load the module once in a child process
 * (`worker/load-app-and-exit.ts`), so a missing or broken app is reported and refused before any worker is forked
 * (at a reload: before any running worker is replaced), and the supervisor never loads user code itself. Only
 * m2pool's own workers are checked: a custom `--worker-module` reads `--app` its own way.
 * @module
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { DEFAULTS, type PoolConfig } from '../../config/schema';
import { errorMessage } from '../../errors';
import type { AppKind } from '../../config/app-kind';

/** The child entry (dist/src/worker/load-app-and-exit.js). */
const LOAD_APP_AND_EXIT = path.resolve(__dirname, '..', '..', 'worker', 'load-app-and-exit.js');
/** An app whose top-level await never settles would otherwise hold the start forever. */
export const APP_CHECK_TIMEOUT_MS = 30_000;

/** Load `spec` in a child from `cwd`; resolves with why it does not load, or `undefined` when it does. */
export function appLoadProblem(spec: string, cwd = process.cwd(), timeoutMs = APP_CHECK_TIMEOUT_MS, kind: AppKind = 'auto'): Promise<string | undefined> {
  return new Promise((resolve) => {
    // No execArgv, as for the workers (supervisor/arbiter/spawn.ts): `--inspect` would clash on its port, and the parent's
    // `-e`/`-p` script would run again in the child instead of the check (a child that forks itself forever).
    const child = spawn(process.execPath, [LOAD_APP_AND_EXIT, spec, kind], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8_192)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(`app module ${JSON.stringify(spec)} did not finish loading within ${timeoutMs} ms`);
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve(`cannot run the app check: ${errorMessage(err)}`);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(undefined);
      resolve(stderr.trim() || `app check exited with ${code ?? signal}`);
    });
  });
}

/** Where the problem is reported. */
interface TextOut {
  write(text: string): unknown;
}

/**
 * The check of a configuration, at start and before every reload (`SupervisorOptions.checkApp`): why its app does
 * not load, or undefined when it does (or the workers are not m2pool's own).
 */
export function appCheckProblem(config: Pick<PoolConfig, 'app' | 'appKind' | 'workerModule'>, cwd = process.cwd()): Promise<string | undefined> {
  if (path.resolve(config.workerModule) !== path.resolve(DEFAULTS.workerModule)) return Promise.resolve(undefined);
  return appLoadProblem(config.app, cwd, APP_CHECK_TIMEOUT_MS, config.appKind);
}

/**
 * `m2pool start`'s check: true when the app loads (or the workers are not m2pool's own); otherwise writes the
 * reason to `out` and returns false (the caller exits with `APP_LOAD_ERROR`, 4).
 */
export async function appLoadsOrSay(config: Pick<PoolConfig, 'app' | 'appKind' | 'workerModule'>, out: TextOut, cwd = process.cwd()): Promise<boolean> {
  const problem = await appCheckProblem(config, cwd);
  if (problem === undefined) return true;
  out.write(`m2pool start: --app ${JSON.stringify(config.app)} does not load; nothing was started:\n  ${problem.replace(/\n/g, '\n  ')}\n`);
  return false;
}
