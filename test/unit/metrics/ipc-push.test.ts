import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { isWorkerMessage } from '../../../src/ipc/messages';
import { PoolMetrics, type WorkerRef } from '../../../src/metrics';
import { sample } from './support';

const FIXTURE = path.join(__dirname, 'fixtures', 'push-worker.js');

/**
 * Fork the fixture as slot 0 of `generation`, wire it to `pool` the way the supervisor should (ingest every
 * `m2pool:metrics`, processGone on exit), and resolve once it is ready (graceful) or has exited (crash).
 */
async function runWorker(t: TestContext, pool: PoolMetrics, generation: number, requests: number, mode: 'graceful' | 'crash'): Promise<ChildProcess> {
  const child = fork(FIXTURE, [String(requests), mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const ref: WorkerRef = { slot: 0, generation, pid: child.pid ?? null };
  pool.setWorkerState(ref, 'booting');
  const closed = once(child, 'close');
  const ready = new Promise<void>((resolve) => {
    child.on('message', (m: unknown) => {
      if (!isWorkerMessage(m)) return;
      if (m.type === 'm2pool:metrics') pool.ingest(ref, m.metrics);
      if (m.type === 'm2pool:ready') {
        pool.setWorkerState(ref, 'ready');
        resolve();
      }
    });
  });
  child.on('exit', () => pool.processGone(ref));
  if (mode === 'crash') await closed;
  else await ready;
  return child;
}

describe('worker → supervisor over real IPC', () => {
  test('totals survive a graceful exit and a SIGKILL crash; nothing is rejected or left behind', { timeout: 30_000 }, async (t: TestContext) => {
    const pool = new PoolMetrics({ defaultMetrics: false, now: () => 0 });

    const first = await runWorker(t, pool, 1, 40, 'graceful');
    first.send({ type: 'm2pool:shutdown', drainTimeoutMs: 1000 });
    const [code] = (await once(first, 'close')) as [number | null];
    assert.equal(code, 0);
    let text = await pool.render();
    assert.equal(sample(text, 'm2pool_requests_total{route="/items/:id",method="GET",status_class="2xx"}'), 36);
    assert.equal(sample(text, 'm2pool_requests_total{route="/items/:id",method="GET",status_class="5xx"}'), 4);

    const crashed = await runWorker(t, pool, 2, 25, 'crash');
    assert.equal(crashed.signalCode, 'SIGKILL');
    text = await pool.render();
    assert.equal(sample(text, 'm2pool_requests_total{route="/items/:id",method="GET",status_class="2xx"}'), 36 + 22);
    assert.equal(sample(text, 'm2pool_requests_total{route="/items/:id",method="GET",status_class="5xx"}'), 4 + 3);
    assert.equal(sample(text, 'm2pool_request_duration_seconds_count{route="/items/:id",method="GET"}'), 65);
    assert.equal(sample(text, 'm2pool_response_bytes_total'), 650);
    assert.equal(sample(text, 'm2pool_metrics_snapshots_rejected_total{reason="malformed"}'), 0);
    assert.equal(sample(text, 'm2pool_metrics_snapshots_rejected_total{reason="stale"}'), 0);
    assert.doesNotMatch(text, /^m2pool_requests_in_flight\{/m, 'no gauge of a gone worker');
    assert.equal(pool.stats.processes, 0);
  });
});
