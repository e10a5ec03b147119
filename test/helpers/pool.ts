/**
 * A real pool for integration tests: `m2pool start` with the example app behind a test Mongrel2, its own run
 * directory (so the dispatcher socket of one test never meets another's), and helpers to read `/pool` and wait
 * for a state of it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PoolSnapshot } from '../../src/supervisor/control/pool-snapshot';
import type { TestMongrel2 } from './mongrel2';
import { freePort } from './ports';
import { CLI, HELLO_APP, spawnNode, type LogLine, type TestProcess } from './processes';
import { adminCall } from './supervisor-harness';
import { waitFor } from './wait-for';

/** A running pool. */
export interface TestPool {
  readonly proc: TestProcess;
  readonly adminPort: number;
  readonly runDir: string;
  pool(): Promise<PoolSnapshot>;
  /** Resolve with the first `/pool` document matching `pred`. */
  waitPool(pred: (p: PoolSnapshot) => boolean, what: string, timeoutMs?: number): Promise<PoolSnapshot>;
  call(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Stop the pool (SIGTERM, then SIGKILL) and remove the run directory. */
  stop(): Promise<void>;
}

/** Options of {@link startCliPool}. */
export interface CliPoolOptions {
  /** @default examples/hello */
  readonly app?: string;
  /** Extra environment of the pool (and so of its workers, except M2POOL_* variables). */
  readonly env?: NodeJS.ProcessEnv;
  /** The log line that means "started". @default event pool.ready */
  readonly until?: (line: Record<string, unknown>) => boolean;
}

/**
 * Start `m2pool start --app examples/hello` (or the app given) against `m2`'s first handler, plus `extra` flags;
 * waits for pool.ready (or `options.until`). The third argument is the app module, or {@link CliPoolOptions}.
 */
export async function startCliPool(m2: TestMongrel2, extra: readonly string[], appOrOptions: string | CliPoolOptions = {}): Promise<TestPool> {
  const options: CliPoolOptions = typeof appOrOptions === 'string' ? { app: appOrOptions } : appOrOptions;
  const adminPort = await freePort();
  const runDir = await mkdtemp(path.join(tmpdir(), 'm2r-'));
  const proc = spawnNode([CLI, 'start', '--app', options.app ?? HELLO_APP, ...m2.workerArgs(), '--admin', `127.0.0.1:${adminPort}`, '--run-dir', runDir, ...extra], options.env === undefined ? {} : { env: options.env });
  const call = (method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => adminCall(adminPort, method, urlPath, body);
  const pool = async (): Promise<PoolSnapshot> => (await call('GET', '/pool')).body as unknown as PoolSnapshot; // our own admin document
  const waitPool = (pred: (p: PoolSnapshot) => boolean, what: string, timeoutMs = 20_000): Promise<PoolSnapshot> =>
    waitFor(async () => {
      const p = await pool();
      return pred(p) ? p : undefined;
    }, { timeoutMs, what });
  const stop = async (): Promise<void> => {
    await proc.stop(10_000);
    await rm(runDir, { recursive: true, force: true });
  };
  try {
    await proc.waitForLog(options.until ?? ((l) => l['event'] === 'pool.ready'), 30_000);
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}\nstderr: ${proc.stderr()}`);
  }
  return { proc, adminPort, runDir, pool, waitPool, call, stop };
}

/** Every live worker ready, none booting or draining, `n` of them. */
export function settled(n: number): (p: PoolSnapshot) => boolean {
  return (p) => p.desired === n && p.ready === n && p.booting === 0 && p.draining === 0 && p.workers.length === n && p.rollout === null;
}

/** Pids of the pool's ready workers, by slot. */
export async function readyPids(pool: TestPool): Promise<number[]> {
  return (await pool.pool()).workers.filter((w) => w.state === 'ready' && w.pid !== null).map((w) => w.pid as number);
}

/** The supervisor's own log lines with this `event`, in the order logged (workers log some of the same names). */
export function supervisorEvents(pool: TestPool, event: string): LogLine[] {
  return pool.proc.logs.filter((l) => l['role'] === 'supervisor' && l['event'] === event);
}
