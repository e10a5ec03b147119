import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeWorkerConfig, WORKER_CONFIG_ENV } from '../../src/config/worker-config-codec';
import type { WorkerConfig } from '../../src/config/worker-config';
import { FAKE_WORKER, START_MAIN } from '../helpers/supervisor-config';
import { adminCall } from '../helpers/supervisor-harness';
import { spawnNode, waitForExit, type LogLine, type TestProcess } from '../helpers/processes';
import { isAlive, waitFor } from '../helpers/wait-for';

const T = { timeout: 20_000 };

const BASE_FLAGS = [
  '--app', 'fake-app',
  '--admin', '127.0.0.1:0',
  '--worker-module', FAKE_WORKER,
  '--heartbeat-interval-ms', '100',
  '--heartbeat-timeout-ms', '2000',
  '--boot-timeout-ms', '2000',
  '--drain-timeout-ms', '1000',
  '--shutdown-timeout-ms', '3000',
];

interface Running {
  readonly proc: TestProcess;
  readonly port: number;
  readonly eventFile: string;
  workerPids(): number[];
}

/** Start `m2pool start` (the fixture entry) in its own process group; wait for `workers` ready workers. */
async function startSupervisor(t: TestContext, flags: string[], workers: number, env: Record<string, string> = {}): Promise<Running> {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2pool-proc-'));
  const eventFile = path.join(dir, 'workers.jsonl');
  const proc = spawnNode([START_MAIN, ...BASE_FLAGS, '--workers', String(workers), ...flags], { env: { FAKE_WORKER_LOG: eventFile, ...env } });
  const workerPids = (): number[] => [...new Set(proc.logs.filter((l) => l['event'] === 'worker.spawn').map((l) => Number(l['workerPid'])))];
  t.after(async () => {
    await proc.stop(2_000);
    for (const pid of workerPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await waitForExit(workerPids(), 5_000);
    await rm(dir, { recursive: true, force: true });
  });
  const listen = await proc.waitForLog((l) => l['event'] === 'admin.listen', 10_000);
  const port = Number(listen['port']);
  await waitFor(() => proc.logs.filter((l) => l['event'] === 'worker.ready').length >= workers, { timeoutMs: 10_000, what: `${workers} workers ready` });
  return { proc, port, eventFile, workerPids };
}

function metricsText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`GET /metrics: ${res.statusCode}`))));
    })
      .on('error', reject)
      .end();
  });
}

const byEvent = (logs: LogLine[], name: string): LogLine[] => logs.filter((l) => l['event'] === name);

test('SIGTERM to the supervisor drains every worker, they exit 0, and the supervisor exits 0', T, async (t) => {
  const s = await startSupervisor(t, [], 2);
  const pids = s.workerPids();
  assert.equal(pids.length, 2);
  // Ready also needs the workers' first heartbeat to say their links are up, which can trail worker.ready.
  await waitFor(async () => (await adminCall(s.port, 'GET', '/readyz')).status === 200, { timeoutMs: 10_000, what: '/readyz 200' });
  const metrics = await metricsText(s.port);
  assert.match(metrics, /^m2pool_workers\{state="ready"\} 2$/m);
  assert.match(metrics, /^m2pool_workers_desired 2$/m);
  s.proc.signal('SIGTERM');
  const [code, signal] = await s.proc.exited;
  assert.deepEqual([code, signal], [0, null], s.proc.stderr());
  await waitForExit(pids, 3_000);
  const exits = byEvent(s.proc.logs, 'worker.exit');
  assert.deepEqual(exits.map((e) => [e['reason'], e['expected'], e['code']]), [['stop', true, 0], ['stop', true, 0]]);
  assert.equal(byEvent(s.proc.logs, 'pool.stop').at(-1)?.['outcome'], 'stopped');
  const events = (await readFile(s.eventFile, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const pid of pids) {
    assert.ok(events.some((e) => e['pid'] === pid && e['event'] === 'shutdown' && e['via'] === 'ipc'), `pid ${pid} was not told to shut down`);
  }
});

test('kill -9 of the supervisor: its workers notice the lost IPC channel and exit by themselves', T, async (t) => {
  const s = await startSupervisor(t, [], 2);
  const pids = s.workerPids();
  process.kill(s.proc.pid, 'SIGKILL');
  await s.proc.exited;
  await waitFor(() => pids.every((p) => !isAlive(p)), { timeoutMs: 5_000, what: `orphaned workers ${pids.join(',')} to exit` });
});

test('a second SIGTERM hurries a stop that is waiting on a stubborn worker', T, async (t) => {
  const s = await startSupervisor(t, ['--drain-timeout-ms', '15000', '--shutdown-timeout-ms', '15000'], 1, { FAKE_WORKER_IGNORE_SHUTDOWN: '1' });
  s.proc.signal('SIGTERM');
  await s.proc.waitForLog((l) => l['event'] === 'pool.stop' && l['outcome'] === 'started', 5_000);
  s.proc.signal('SIGTERM');
  const [code] = await s.proc.exited;
  assert.equal(code, 0);
  assert.ok(byEvent(s.proc.logs, 'pool.stop').some((l) => l['outcome'] === 'hurried'));
  assert.equal(byEvent(s.proc.logs, 'worker.kill')[0]?.['reason'], 'fast-stop');
  await waitForExit(s.workerPids(), 3_000);
});

test('TTIN adds a worker, TTOU removes one, HUP rolls the pool to a new generation', T, async (t) => {
  const s = await startSupervisor(t, [], 1);
  const ready = async (n: number, gen: number): Promise<void> => {
    await waitFor(
      async () => {
        const p = (await adminCall(s.port, 'GET', '/pool')).body as { workers: Array<{ state: string; generation: number }> };
        return p.workers.length === n && p.workers.every((w) => w.state === 'ready' && w.generation === gen);
      },
      { timeoutMs: 8_000, what: `${n} ready workers of generation ${gen}` },
    );
  };
  s.proc.signal('SIGTTIN');
  await ready(2, 0);
  s.proc.signal('SIGHUP');
  await ready(2, 1);
  s.proc.signal('SIGTTOU');
  await ready(1, 1);
  const sources = byEvent(s.proc.logs, 'pool.scale').map((l) => l['source']);
  assert.deepEqual(sources, ['SIGTTIN', 'SIGTTOU']);
  assert.equal(byEvent(s.proc.logs, 'pool.reload')[0]?.['source'], 'SIGHUP');
});

test('HUP re-reads the config file: the new generation runs with the edited settings; a broken file changes nothing', T, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2pool-conf-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'pool.json');
  await writeFile(file, JSON.stringify({ requestTimeoutMs: 5000 }));
  const s = await startSupervisor(t, ['--config', file], 2);
  /** The configuration worker `pid` was handed (its environment as started, read from /proc). */
  const configOf = (pid: number): WorkerConfig => {
    const prefix = `${WORKER_CONFIG_ENV}=`;
    const entry = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith(prefix));
    assert.ok(entry !== undefined, `worker ${pid} has no ${WORKER_CONFIG_ENV}`);
    return decodeWorkerConfig(entry.slice(prefix.length));
  };
  const pool = async () => (await adminCall(s.port, 'GET', '/pool')).body as { desired: number; workers: Array<{ pid: number; state: string; generation: number }> };
  const generation = async (gen: number, n: number) =>
    waitFor(async () => {
      const p = await pool();
      return p.workers.length === n && p.workers.every((w) => w.state === 'ready' && w.generation === gen) ? p : undefined;
    }, { timeoutMs: 8_000, what: `${n} ready workers of generation ${gen}` });
  for (const w of (await generation(0, 2)).workers) assert.equal(configOf(w.pid).requestTimeoutMs, 5000);

  // `workers` in the file would lose to the --workers flag (flags > env > file): edit what the flags leave to the file.
  await writeFile(file, JSON.stringify({ requestTimeoutMs: 7000, maxInFlight: 32 }));
  s.proc.signal('SIGHUP');
  const gen1 = await generation(1, 2);
  for (const w of gen1.workers) assert.deepEqual([configOf(w.pid).requestTimeoutMs, configOf(w.pid).maxInFlight], [7000, 32]);
  const started = byEvent(s.proc.logs, 'pool.reload').find((l) => l['outcome'] === 'started' && l['generation'] === 1);
  assert.deepEqual(started?.['changed'], ['maxInFlight', 'requestTimeoutMs']);

  await writeFile(file, '{"requestTimeoutMs": ');
  const r = await adminCall(s.port, 'POST', '/pool/reload');
  assert.equal(r.status, 400);
  assert.match(String(r.body['error']), /configuration not reloaded, nothing changed: .*not valid JSON/);
  assert.deepEqual((await pool()).workers.map((w) => w.generation), [1, 1]);
});
