/**
 * An in-process supervisor driving real forked fake workers (`test/fixtures/supervisor-fake-worker.ts`), with its
 * admin API on a free port, logs captured in memory and every worker pid tracked. Teardown destroys the pool,
 * SIGKILLs any straggler and asserts that no worker process survived.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { startAdminServer, type AdminServer } from '../../src/supervisor/control/admin-server';
import { forkWorker } from '../../src/supervisor/arbiter/spawn';
import { Supervisor } from '../../src/supervisor/arbiter/supervisor';
import type { PoolSnapshot } from '../../src/supervisor/control/pool-snapshot';
import { testConfig } from './supervisor-config';
import { LogSink } from './supervisor-log-sink';
import { isAlive, waitFor } from './wait-for';

/** One JSON line a fake worker appended to its event file. */
export type FakeWorkerEvent = { event: string; pid: number; slot: number; generation: number } & Record<string, unknown>;

/** A running pool under test. */
export interface PoolHarness {
  readonly sup: Supervisor;
  readonly sink: LogSink;
  readonly admin: AdminServer;
  /** Every worker pid ever spawned. */
  readonly pids: number[];
  /** Events written by the fake workers. */
  workerEvents(): Promise<FakeWorkerEvent[]>;
  /** `GET /pool` over HTTP. */
  pool(): Promise<PoolSnapshot>;
  /** One admin call; resolves with status and parsed body. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Wait until `/pool` satisfies `predicate`; resolves with that snapshot. */
  waitForPool(predicate: (p: PoolSnapshot) => boolean, what: string, timeoutMs?: number): Promise<PoolSnapshot>;
}

/** JSON request to a local admin port (no keep-alive agent, so nothing lingers after the test). */
export function adminCall(port: number, method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path: urlPath, agent: false, headers: payload === undefined ? {} : { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Start an in-process supervisor (and its admin API) forking fake workers (test/fixtures/supervisor-fake-worker.ts),
 * unless `overrides` names another worker module. `fakeEnv` sets FAKE_WORKER_* behaviour for the workers only.
 */
export async function startFakeWorkerPool(t: TestContext, overrides: Record<string, unknown> = {}, fakeEnv: Record<string, string> = {}): Promise<PoolHarness> {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2pool-sup-'));
  const eventFile = path.join(dir, 'workers.jsonl');
  const pids: number[] = [];
  const sink = new LogSink();
  const sup = new Supervisor({
    config: testConfig(overrides),
    logger: sink.logger(),
    spawn: (req) => {
      const child = forkWorker({ ...req, env: { ...req.env, FAKE_WORKER_LOG: eventFile, ...fakeEnv } });
      if (child.pid !== undefined) pids.push(child.pid);
      return child;
    },
  });
  const admin = await startAdminServer({ target: sup, listen: '127.0.0.1:0', token: '' });
  t.after(async () => {
    await admin.close();
    await sup.destroy();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
    await waitFor(() => pids.every((p) => !isAlive(p)), { timeoutMs: 5_000, what: 'every worker pid to disappear' });
    await rm(dir, { recursive: true, force: true });
  });
  sup.start();
  const port = admin.address.port;
  const call = (method: string, p: string, body?: unknown) => adminCall(port, method, p, body);
  const pool = async (): Promise<PoolSnapshot> => {
    const r = await call('GET', '/pool');
    assert.equal(r.status, 200);
    return r.body as unknown as PoolSnapshot; // our own server's document
  };
  return {
    sup,
    sink,
    admin,
    pids,
    pool,
    call,
    async workerEvents() {
      const text = await readFile(eventFile, 'utf8').catch(() => '');
      return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as FakeWorkerEvent);
    },
    async waitForPool(predicate, what, timeoutMs = 8_000) {
      let last: PoolSnapshot | undefined;
      try {
        return await waitFor(async () => {
          last = await pool();
          return predicate(last) ? last : undefined;
        }, { timeoutMs, what });
      } catch (err) {
        throw new Error(`${(err as Error).message}; last /pool: ${JSON.stringify(last)}`);
      }
    },
  };
}
