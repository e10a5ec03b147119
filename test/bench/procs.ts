/**
 * Processes the benchmark starts: every one in its own process group (detached), output to a log file (never a
 * pipe the bench would have to drain while it measures), bound to 127.0.0.1, and always torn down — on a normal
 * end, on an error, and on Ctrl-C (SIGTERM to the group, SIGKILL after a grace period; a synchronous SIGKILL
 * sweep runs from `process.on('exit')` as the last resort).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { isAlive } from '../helpers/wait-for';

/** A started child (the leader of its own process group). */
export interface BenchProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Resolves with [code, signal] when the process exits. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** True until the process exited. */
  running(): boolean;
  /** The log so far (stdout and stderr interleaved). */
  log(): string;
  /** Signal the group (SIGTERM unless told otherwise), SIGKILL it after `graceMs`. Idempotent. */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<void>;
}

/** Options of {@link spawnGroup}. */
export interface SpawnOptions {
  readonly cwd: string;
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
}

const live = new Set<BenchProcess>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Start `command args` as the leader of a new process group, stdout and stderr appended to `logFile`. */
export function spawnGroup(name: string, command: string, args: readonly string[], options: SpawnOptions): BenchProcess {
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${name} (${command})`);
  let exitedFlag = false;
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      resolve([code, signal]);
    }),
  );
  child.once('error', () => undefined);
  let stopping: Promise<void> | undefined;
  const proc: BenchProcess = {
    name,
    pid,
    child,
    logFile: options.logFile,
    exited,
    running: () => !exitedFlag,
    log: () => {
      try {
        return readFileSync(options.logFile, 'utf8');
      } catch {
        return '';
      }
    },
    stop(graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM') {
      stopping ??= (async () => {
        if (!exitedFlag) {
          killGroup(pid, signal);
          const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        // Whatever the leader left behind in its group goes too.
        killGroup(pid, 'SIGKILL');
        live.delete(proc);
      })();
      return stopping;
    },
  };
  live.add(proc);
  return proc;
}

/** Stop every process still running (in parallel). */
export async function stopAll(graceMs = 5_000): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(graceMs)));
}

let installed = false;

/**
 * Ctrl-C / SIGTERM: stop everything, run `onInterrupt` (e.g. remove temp dirs), exit 130. `exit`: SIGKILL every
 * group still known (synchronous, so it also covers crashes).
 */
export function installCleanup(onInterrupt: () => Promise<void>): void {
  if (installed) return;
  installed = true;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      for (const p of live) killGroup(p.pid, 'SIGKILL');
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping everything the benchmark started...\n`);
    void stopAll(3_000)
      .then(onInterrupt)
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', () => {
    for (const p of live) if (isAlive(p.pid)) killGroup(p.pid, 'SIGKILL');
  });
}
