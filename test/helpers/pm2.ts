/**
 * The real pm2 with the repository's ecosystem.config.js, on its own PM2_HOME (its own daemon), moved to free
 * ports and a temp run directory through the ecosystem's environment knobs. `stop()` kills that daemon (and with
 * it every process it runs) and removes the temp directory.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { rawRequest } from './http-client';
import { freePortRun, freePorts } from './ports';
import { REPO_ROOT } from './processes';

const run = promisify(execFile);
const PM2 = path.join(REPO_ROOT, 'node_modules', 'pm2', 'bin', 'pm2');

/** The supervisor's `GET /pool`, as far as these tests read it. */
export interface Pm2PoolDoc {
  pid: number;
  desired: number;
  topology: string;
  dispatcher: unknown;
  ready: number;
  workers: Array<{ pid: number; state: string; restarts: number; handled: number; inFlight: number }>;
  breaker: Array<{ slot: number; open: boolean }>;
}

/** One process of `pm2 jlist`, as far as these tests read it. */
export interface Pm2Proc {
  name: string;
  pid: number;
  pm_id: number;
  pm2_env: {
    status: string;
    restart_time: number;
    unstable_restarts: number;
    NODE_APP_INSTANCE?: number;
    /** pm2's custom metrics of the process (`axm:monitor` messages): name → `{ value, unit? }`. */
    axm_monitor?: Record<string, { value: unknown; unit?: string }>;
  };
}

/** A pm2 daemon of our own running the ecosystem (after {@link startEcosystem}). */
export interface Pm2Ecosystem {
  readonly env: NodeJS.ProcessEnv & { M2POOL_RUN_DIR: string };
  readonly httpPort: number;
  readonly adminPort: number;
  /** Run one pm2 command against this daemon. */
  pm2(...args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** `GET /pool` of the supervisor (of pm2 instance `instance`, served on the admin port + instance). */
  pool(instance?: number): Promise<Pm2PoolDoc>;
  /** `pm2 jlist`, only the processes named `name`, by pm_id. */
  jlist(name?: string): Promise<Pm2Proc[]>;
  /** `pm2 kill` and remove the temp directory. */
  stop(): Promise<void>;
}

/**
 * Prepare a pm2 home and ports, then `pm2 start ecosystem.config.js` (returns once pm2's wait_ready is met).
 * `instances`: how many consecutive admin ports to reserve, for tests that `pm2 scale m2pool` up to that; `env`:
 * more variables for `pm2 start` (the shell environment the ecosystem file is loaded in).
 */
export async function startEcosystem(options: { readonly instances?: number; readonly env?: NodeJS.ProcessEnv } = {}): Promise<Pm2Ecosystem> {
  const home = await mkdtemp(path.join(tmpdir(), 'm2p-pm2-'));
  const [httpPort = 0] = await freePorts(1);
  const adminPort = await freePortRun(options.instances ?? 1);
  const env = {
    ...process.env,
    PM2_HOME: path.join(home, 'pm2'),
    M2POOL_RUN_DIR: path.join(home, 'run'),
    M2POOL_HTTP_PORT: String(httpPort),
    M2POOL_ADMIN: `127.0.0.1:${adminPort}`,
    ...options.env,
  };
  const pm2 = (...args: string[]) => run(process.execPath, [PM2, ...args], { cwd: REPO_ROOT, env, timeout: 60_000 });
  const eco: Pm2Ecosystem = {
    env,
    httpPort,
    adminPort,
    pm2,
    pool: async (instance = 0) => JSON.parse((await rawRequest(adminPort + instance, { path: '/pool' })).body.toString()) as Pm2PoolDoc,
    jlist: async (name = 'm2pool') => {
      const all = JSON.parse((await pm2('jlist')).stdout) as Pm2Proc[];
      return all.filter((p) => p.name === name).sort((a, b) => a.pm_id - b.pm_id);
    },
    stop: async () => {
      await pm2('kill').catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
  try {
    await pm2('start', 'ecosystem.config.js');
  } catch (err) {
    await eco.stop();
    throw err;
  }
  return eco;
}

/** What one `kill -9` of the supervisor cost, measured from the kill. */
export interface SupervisorLoss {
  readonly killedPid: number;
  /** Until `/readyz` of the restarted supervisor answered 200. */
  readonly readyAfterMs: number;
  /** Until a request through Mongrel2 was answered 200 again. */
  readonly answeredAfterMs: number;
  /** The restarted supervisor's `/pool` once ready. */
  readonly pool: Pm2PoolDoc;
}

/**
 * `kill -9` the supervisor pm2 runs and wait (polling every 20 ms) until pm2 has restarted it: `/readyz` 200 from a
 * new supervisor, and a request through Mongrel2 answered again.
 */
export async function killSupervisor(eco: Pm2Ecosystem, waitFor: <T>(probe: () => Promise<T | undefined>, what: string) => Promise<T>): Promise<SupervisorLoss> {
  const before = await eco.pool();
  const killedAt = Date.now();
  process.kill(before.pid, 'SIGKILL');
  const answered = (async () => {
    await waitFor(async () => {
      const res = await rawRequest(eco.httpPort, { path: '/echo/after-loss' }, { timeoutMs: 1_000 }).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, 'a request answered again');
    return Date.now() - killedAt;
  })();
  const pool = await waitFor(async () => {
    const r = await rawRequest(eco.adminPort, { path: '/readyz' }, { timeoutMs: 1_000 }).catch(() => undefined);
    if (r?.status !== 200) return undefined;
    const doc = await eco.pool();
    return doc.pid !== before.pid ? doc : undefined;
  }, 'the restarted supervisor to be ready');
  const readyAfterMs = Date.now() - killedAt;
  return { killedPid: before.pid, readyAfterMs, answeredAfterMs: await answered, pool };
}
