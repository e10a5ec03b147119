/**
 * Child processes for integration tests: each in its own process group (detached), stdout parsed as pino JSON
 * lines, torn down with SIGTERM to the group, then SIGKILL after a deadline (gunicorn's killpg).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { isAlive, waitFor } from './wait-for';

/** Repository root (tests run from dist/test/...). */
export const REPO_ROOT = path.resolve(__dirname, '../../..');
/** The compiled `m2pool` CLI. */
export const CLI = path.join(REPO_ROOT, 'dist/src/cli/main.js');
/** The example app module. */
export const HELLO_APP = path.join(REPO_ROOT, 'examples/hello');

/** A parsed log line. */
export type LogLine = Record<string, unknown>;

/** A running child with its log lines. */
export interface TestProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logs: LogLine[];
  /** Raw stderr text so far. */
  stderr(): string;
  /** Resolve with the first log line matching `predicate` (already seen or future). */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with [code, signal] when the process exits. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** Send a signal to the process (not the group). */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM the group, SIGKILL it after `graceMs`; resolves on exit. Idempotent. */
  stop(graceMs?: number): Promise<[number | null, NodeJS.Signals | null]>;
}

/** Options of {@link spawnNode}. */
export interface SpawnNodeOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /**
   * A command that runs node, e.g. `['ip', 'netns', 'exec', NAME]` for a process inside a network namespace.
   * It must exec node in place (same pid), so signals and `stop` still reach node itself.
   */
  readonly prefix?: readonly string[];
}

/** Spawn `node <args>` (behind `options.prefix`, if any) in its own process group. */
export function spawnNode(args: readonly string[], options: SpawnNodeOptions = {}): TestProcess {
  const [command, ...prefixArgs] = [...(options.prefix ?? []), process.execPath];
  return spawnCommand(command ?? process.execPath, [...prefixArgs, ...args], options);
}

/** Spawn any command in its own process group (stdout read as log lines, as for node children). */
export function spawnCommand(command: string, args: readonly string[], options: Omit<SpawnNodeOptions, 'prefix'> = {}): TestProcess {
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const logs: LogLine[] = [];
  let stderr = '';
  const watchers = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      logs.push({ raw: line });
    }
    for (const w of [...watchers]) w();
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  const pid = child.pid ?? -1;
  let stopping: Promise<[number | null, NodeJS.Signals | null]> | undefined;
  const killGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // group already gone
    }
  };
  return {
    child,
    pid,
    logs,
    stderr: () => stderr,
    exited,
    signal: (sig) => {
      if (isAlive(pid)) process.kill(pid, sig);
    },
    waitForLog(predicate, timeoutMs = 15_000) {
      const found = logs.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = logs.find(predicate);
          if (hit !== undefined) {
            done();
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching log line from pid ${pid} within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
      });
    },
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          killGroup('SIGTERM');
          const timer = setTimeout(() => killGroup('SIGKILL'), graceMs);
          const result = await exited;
          clearTimeout(timer);
          // Whatever the process left in its group goes too.
          killGroup('SIGKILL');
          return result;
        }
        killGroup('SIGKILL');
        return exited;
      })();
      return stopping;
    },
  };
}

/** Start `m2pool worker` for the given app and endpoints and wait until it logs `worker.ready`. */
export async function startWorker(app: string, endpointArgs: readonly string[], extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<TestProcess> {
  const proc = spawnNode([CLI, 'worker', '--app', app, ...endpointArgs, ...extra], { env });
  try {
    await proc.waitForLog((l) => l['msg'] === 'worker.ready');
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/** Wait until none of `pids` exists. */
export async function waitForExit(pids: readonly number[], timeoutMs = 10_000): Promise<void> {
  await waitFor(() => pids.every((p) => !isAlive(p)), { timeoutMs, what: `pids ${pids.join(',')} to exit` });
}
