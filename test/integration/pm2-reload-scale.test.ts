/**
 * Issue 10, done-means: `pm2 reload m2pool`, then `pm2 scale m2pool 3` and `pm2 scale m2pool 1`, with the real pm2
 * and ecosystem.config.js, under closed-loop GET load from 24 keep-alive clients through Mongrel2. What the README's
 * Deploying section promises: every request gets its own 200 (the dispatcher holds requests while a supervisor is
 * replaced or drained), no restart storm (pm2 restarts nothing by itself, every instance online), and each pm2
 * instance is a pool of its own with its admin API on the admin port + NODE_APP_INSTANCE. Counts and durations are
 * printed as diagnostics (README "Deploying" quotes them).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startLoad, type LoadResult } from '../helpers/load';
import { startEcosystem, type Pm2Ecosystem, type Pm2PoolDoc, type Pm2Proc } from '../helpers/pm2';
import { waitFor } from '../helpers/wait-for';

const CLIENTS = 24;
const WORKERS = 2; // the ecosystem's --workers

const failedOf = (results: readonly LoadResult[]): LoadResult[] => results.filter((r) => r.problem !== undefined || r.status !== 200);

/** Every m2pool instance online, `n` of them, each pool whole on its own admin port; returns pm2's view and the pools. */
async function instancesWhole(eco: Pm2Ecosystem, n: number, what: string): Promise<{ procs: Pm2Proc[]; pools: Pm2PoolDoc[] }> {
  return waitFor(
    async () => {
      const procs = await eco.jlist();
      if (procs.length !== n || procs.some((p) => p.pm2_env.status !== 'online')) return undefined;
      const pools = await Promise.all(procs.map((p) => eco.pool(p.pm2_env.NODE_APP_INSTANCE ?? 0)));
      return pools.every((doc, i) => doc.pid === procs[i]?.pid && doc.ready === WORKERS) ? { procs, pools } : undefined;
    },
    { what, timeoutMs: 40_000, intervalMs: 50 },
  );
}

test('pm2 reload m2pool, pm2 scale m2pool 3 then 1, under GET load: no request lost, no pm2 restarts, one admin port per instance', { timeout: 120_000 }, async (t) => {
  const eco = await startEcosystem({ instances: 3 });
  t.after(() => eco.stop());
  const start = await instancesWhole(eco, 1, 'the pool whole under pm2');
  const firstPid = start.procs[0]?.pid;

  const load = startLoad({ port: eco.httpPort, clients: CLIENTS, request: (c, n) => ({ path: `/echo/c${c}-${n}` }), expectedBody: (c, n) => `/echo/c${c}-${n}` });
  const t0 = performance.now();
  const events: Array<{ at: number; what: string }> = [];
  const mark = (what: string): void => void events.push({ at: performance.now(), what: `${what} at ${(performance.now() - t0).toFixed(0)} ms` });
  const progress = async (): Promise<void> => load.reached(load.results.length + 300);
  try {
    await load.reached(300);

    mark('pm2 reload m2pool');
    const reloadAt = performance.now();
    await eco.pm2('reload', 'm2pool');
    const reloaded = await instancesWhole(eco, 1, 'a new supervisor whole after pm2 reload');
    const reloadMs = performance.now() - reloadAt;
    assert.notEqual(reloaded.procs[0]?.pid, firstPid, 'pm2 reload replaced the supervisor');
    assert.equal(reloaded.procs[0]?.pm2_env.restart_time, 1, 'the reload is the only restart pm2 counts');
    await progress();

    mark('pm2 scale m2pool 3');
    const upAt = performance.now();
    await eco.pm2('scale', 'm2pool', '3');
    const up = await instancesWhole(eco, 3, '3 pm2 instances, each pool whole');
    const upMs = performance.now() - upAt;
    assert.deepEqual(up.procs.map((p) => p.pm2_env.NODE_APP_INSTANCE), [0, 1, 2]);
    assert.equal(new Set(up.pools.map((p) => p.pid)).size, 3, 'instance i answers on the admin port + i, each its own supervisor');
    assert.ok(up.pools.every((p) => p.topology === 'dispatch' && p.dispatcher === null), 'every instance joins the one dispatcher pm2 runs');
    assert.deepEqual(up.procs.map((p) => p.pm2_env.restart_time), [1, 0, 0], 'no restart storm: pm2 restarted no instance');
    await progress();
    // Each new pool takes a share of the load: its workers answer requests.
    await waitFor(async () => (await Promise.all([1, 2].map((i) => eco.pool(i)))).every((p) => p.workers.some((w) => w.handled > 0)), { what: 'the new pools serving', timeoutMs: 20_000 });

    mark('pm2 scale m2pool 1');
    const downAt = performance.now();
    await eco.pm2('scale', 'm2pool', '1');
    const down = await instancesWhole(eco, 1, 'back to one pm2 instance');
    const downMs = performance.now() - downAt;
    // pm2 deletes the first instances in its list (the oldest), so the one left may be instance 1 or 2, its admin
    // API on the admin port + that instance (README "Deploying" says so).
    const left = down.procs[0];
    const leftBefore = up.procs.find((p) => p.pid === left?.pid);
    assert.ok(left !== undefined && leftBefore !== undefined, 'the instance left is one that was already serving, untouched');
    await progress();

    const results = await load.stop();
    const failed = failedOf(results);
    const final = await eco.jlist();
    assert.deepEqual(
      final.map((p) => [p.pid, p.pm2_env.status, p.pm2_env.restart_time, p.pm2_env.unstable_restarts]),
      [[left.pid, 'online', leftBefore.pm2_env.restart_time, 0]],
      'no pm2 restart during or after the scale-down',
    );
    assert.deepEqual(
      failed.slice(0, 5).map((r) => `${r.status} ${String(r.problem)} at ${(r.sentAt - t0).toFixed(0)} ms, after ${events.filter((e) => e.at <= r.sentAt).at(-1)?.what ?? '-'}`),
      [],
      `${failed.length} of ${results.length} requests failed or went unanswered`,
    );
    t.diagnostic(`${results.length} requests from ${CLIENTS} clients in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${failed.length} failed or unanswered`);
    t.diagnostic(`pm2 reload: new pool whole after ${reloadMs.toFixed(0)} ms; pm2 scale 3: whole after ${upMs.toFixed(0)} ms; pm2 scale 1: after ${downMs.toFixed(0)} ms, instance ${String(left.pm2_env.NODE_APP_INSTANCE)} left`);
  } finally {
    await load.stop();
  }
});
