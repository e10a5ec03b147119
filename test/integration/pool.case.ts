/**
 * One behavioural spec of a pool for both topologies (the pattern of test/unit/transport/link.case.ts):
 * `pool-dispatch.test.ts` runs it against `m2pool start` (dispatch, the default), `pool-direct.test.ts` against
 * `m2pool start --topology direct`, each with a real Mongrel2 and real `examples/hello` workers. Each case states
 * what each topology guarantees (docs/architecture.md, "Two topologies"; docs/zeromq.md §6) and asserts exactly
 * that for the topology under test:
 * - dispatch: a worker that leaves (scale-down, reload, recycle, SIGTERM) is sent nothing more and answers what it
 *   holds, and a worker killed with -9 has its GETs retried on another: nothing is lost;
 * - direct: Mongrel2 parks requests in each worker's pipe and never re-routes them, so what was parked at a
 *   departing worker goes unanswered (its client waits); every answer that comes is still the right one, a
 *   client has one request outstanding so it loses at most one per departure, and nothing is lost once the pool
 *   has settled.
 * Ordering, stop, metrics and readiness hold per topology as each case says.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { HttpConnection, buildRequest, pipelinedBodies } from '../helpers/http-client';
import { startLoad, type Load, type LoadResult } from '../helpers/load';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { readyPids, settled, startCliPool, supervisorEvents, type TestPool } from '../helpers/pool';
import { REPO_ROOT } from '../helpers/processes';
import { isAlive, waitFor } from '../helpers/wait-for';

/** The two ways `m2pool start` connects its workers to Mongrel2 (`--topology`). */
type Topology = 'dispatch' | 'direct';

/** What a case promises, per topology. */
type Guarantee = Readonly<Record<Topology, string>>;

const CLIENTS = 24;
// Restart backoff capped low: ten kills feed one slot's backoff (50 ms doubling, 30 s cap by default).
const POOL_FLAGS = ['--workers', '3', '--max-workers', '6', '--heartbeat-interval-ms', '200', '--restart-backoff-initial-ms', '50', '--restart-backoff-max-ms', '400', '--drain-timeout-ms', '5000'];
/** Per case: a churn case runs about a minute on two busy cores. */
const T = { timeout: 150_000 };
/** A request unanswered for this long is counted as lost (a right answer takes milliseconds, seconds when busy). */
const CLIENT_TIMEOUT_MS = 10_000;
const NO_ANSWER = /no complete response/;

/** Workers leaving or dying under load (scale, reload, kill -9, recycle, SIGTERM). */
const DEPARTURES: Guarantee = {
  // A dead worker's GETs are retried once (docs/architecture.md): the kill case keeps each request to one kill.
  dispatch: 'every request gets its own 200',
  direct: 'every answer is the right 200; unanswered: at most one request per client per departure, none once settled',
};
/** `m2pool start` receiving SIGTERM with requests in flight. */
const STOP: Guarantee = {
  dispatch: 'in-flight requests answered, workers then the dispatcher exit 0, the pool exits 0',
  direct: 'in-flight requests answered, workers exit 0, the pool exits 0',
};
/** The pool's `/metrics` after a known number of answered requests. */
const METRICS: Guarantee = {
  dispatch: 'requests counted exactly once by the workers and once by the dispatcher (dispatched, queue wait)',
  direct: 'requests counted exactly once by the workers; no dispatcher families',
};
/** Pipelined requests on one connection (README, "Ordering"). */
const ORDERING: Guarantee = {
  dispatch: 'with 2 workers, answered in request order',
  direct: 'with 1 worker, answered in request order; with 2, each answered exactly once, in any order',
};

const isUnanswered = (r: LoadResult): boolean => r.problem !== undefined && NO_ANSWER.test(r.problem);
const describeResult = (r: LoadResult, t0: number): string => `client ${r.client} #${r.seq}: ${r.status} ${r.problem ?? ''} (sent at ${(r.sentAt - t0).toFixed(0)} ms)`;

/**
 * `CLIENTS` keep-alive clients echoing their own paths, one request at a time, each on a new connection every 5
 * requests. (No /slow in the mix: its 2 s deadline would turn a busy machine's pauses into 504s.)
 */
function echoLoad(port: number): Load {
  return startLoad({
    port,
    clients: CLIENTS,
    request: (c, n) => ({ path: `/echo/c${c}-${n}` }),
    expectedBody: (c, n) => `/echo/c${c}-${n}`,
    timeoutMs: CLIENT_TIMEOUT_MS,
    requestsPerConnection: 5,
  });
}

/** True once each client has finished a request it sent after `at` (so whatever it had in flight at `at` ended). */
function allClientsSentAfter(load: Load, at: number): boolean {
  const past = new Set(load.results.filter((r) => r.sentAt > at).map((r) => r.client));
  return past.size === CLIENTS;
}

/** Resolves once `n` more requests have ended. */
const progress = (load: Load, n = 100): Promise<void> => load.reached(load.results.length + n);

/**
 * Assert {@link DEPARTURES} for the pool's topology over a load's results. `departures`: workers that left or died
 * while it ran; `quietFrom`: when the pool was settled for good (undefined when workers kept leaving to the end).
 */
async function assertDepartures(t: TestContext, pool: TestPool, results: readonly LoadResult[], departures: number, quietFrom: number | undefined, t0: number): Promise<void> {
  const topology = (await pool.pool()).topology;
  const unanswered = results.filter(isUnanswered);
  const wrong = results.filter((r) => !isUnanswered(r) && (r.problem !== undefined || r.status !== 200));
  // What the dispatcher did with lost workers' requests (nothing in the direct topology): the why of a failure.
  const metrics = await fetch(`http://127.0.0.1:${pool.adminPort}/metrics`).then((r) => r.text());
  const dispatcher = metrics.split('\n').filter((l) => /^m2pool_dispatcher_(failed_requests|retries|workers_lost)_total/.test(l)).join(', ');
  t.diagnostic(`${topology}: ${results.length} requests, ${departures} departures: ${wrong.length} wrong, ${unanswered.length} unanswered${dispatcher === '' ? '' : `; ${dispatcher}`}`);
  assert.deepEqual(wrong.slice(0, 5).map((r) => describeResult(r, t0)), [], `${wrong.length} of ${results.length} requests got a wrong or failed answer; ${dispatcher}`);
  if (topology === 'dispatch') {
    assert.deepEqual(unanswered.slice(0, 5).map((r) => describeResult(r, t0)), [], `${unanswered.length} of ${results.length} requests unanswered`);
    return;
  }
  const perClient = new Map<number, number>();
  for (const r of unanswered) perClient.set(r.client, (perClient.get(r.client) ?? 0) + 1);
  const worst = Math.max(0, ...perClient.values());
  assert.ok(worst <= departures, `a client lost ${worst} requests in ${departures} departures`);
  if (quietFrom !== undefined) {
    const late = unanswered.filter((r) => r.sentAt >= quietFrom);
    assert.deepEqual(late.slice(0, 5).map((r) => describeResult(r, t0)), [], 'unanswered although sent once the pool had settled');
  }
}

/** `GET /hold?ms=N` answers `held` after N ms, with a deadline of 61 s (examples/hello's /slow has 2 s). */
const HOLD_APP = path.join(REPO_ROOT, 'dist/test/fixtures/hold-app.js');

/** A test Mongrel2 and `m2pool start` in `topology` (examples/hello, or `app`) behind it, both stopped after the test. */
async function poolUnderTest(t: TestContext, topology: Topology, flags: readonly string[], app?: string): Promise<{ m2: TestMongrel2; pool: TestPool }> {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  // No flag for dispatch: it is what `m2pool start` runs by default.
  const pool = await startCliPool(m2, [...(topology === 'dispatch' ? [] : ['--topology', topology]), ...flags], app === undefined ? {} : { app });
  t.after(() => pool.stop());
  assert.equal((await pool.pool()).topology, topology);
  return { m2, pool };
}

/** Scale to `n` through the admin API and wait until exactly `n` workers are ready; returns how many left. */
async function scaleTo(pool: TestPool, from: number, n: number): Promise<number> {
  if (n === from) return 0;
  const r = await pool.call('POST', '/pool/scale', { workers: n });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await pool.waitPool(settled(n), `${n} settled workers`);
  return Math.max(0, from - n);
}

/** Run the shared pool suite against `m2pool start` in `topology`. */
export function poolSuite(topology: Topology): void {
  describe(`pool, ${topology} topology`, () => {
    test(`scale up and down 20 times under GET load: ${DEPARTURES[topology]}; each leaver exits 0`, T, async (t) => {
      const { m2, pool } = await poolUnderTest(t, topology, POOL_FLAGS);
      const first = await pool.waitPool(settled(3), '3 ready workers');
      assert.equal(first.notReadyReason, null);
      assert.equal(first.dispatcher?.state ?? null, topology === 'dispatch' ? 'ready' : null, 'dispatch: a ready dispatcher; direct: none');
      const load = echoLoad(m2.port);
      const t0 = performance.now();
      await load.reached(300);
      let size = 3;
      let departures = 0;
      for (const n of [2, 4, 3, 5, 2, 4, 1, 3, 5, 3, 1, 4, 2, 5, 3, 1, 4, 2, 5, 3]) {
        departures += await scaleTo(pool, size, n);
        size = n;
        await progress(load);
      }
      const quietFrom = performance.now();
      await progress(load, 300);
      await assertDepartures(t, pool, await load.stop(), departures, quietFrom, t0);
      // Both topologies: a scale-down drains its workers; none had to be killed.
      const exits = supervisorEvents(pool, 'worker.exit').map((e) => [e['reason'], e['expected'], e['code']]);
      assert.deepEqual(exits, Array.from({ length: departures }, () => ['scale-down', true, 0]));
      assert.deepEqual(supervisorEvents(pool, 'worker.kill'), []);
    });

    test(`5 rolling reloads (1 to 4 workers) under GET load: ${DEPARTURES[topology]}; ready never below the pool size`, T, async (t) => {
      const { m2, pool } = await poolUnderTest(t, topology, POOL_FLAGS);
      await pool.waitPool(settled(3), '3 ready workers');
      const load = echoLoad(m2.port);
      const t0 = performance.now();
      await load.reached(300);
      let size = 3;
      let departures = 0;
      for (const n of [3, 1, 4, 2, 3]) {
        departures += await scaleTo(pool, size, n);
        size = n;
        const rl = await pool.call('POST', '/pool/reload');
        assert.equal(rl.status, 202, JSON.stringify(rl.body));
        const gen = rl.body['generation'] as number;
        await pool.waitPool((p) => settled(n)(p) && p.workers.every((w) => w.generation === gen), `generation ${gen} everywhere`, 30_000);
        departures += n;
        await progress(load);
      }
      const quietFrom = performance.now();
      await progress(load, 300);
      await assertDepartures(t, pool, await load.stop(), departures, quietFrom, t0);
      // Both topologies: an old worker starts draining only after its successor in the same slot is ready.
      const lines = pool.proc.logs;
      const reloadDrains = supervisorEvents(pool, 'worker.drain').filter((d) => d['reason'] === 'reload');
      assert.equal(reloadDrains.length, 1 + 3 + 4 + 2 + 3);
      for (const drain of reloadDrains) {
        const successorReady = lines.slice(0, lines.indexOf(drain)).some((l) => l['role'] === 'supervisor' && l['event'] === 'worker.ready' && l['slot'] === drain['slot'] && Number(l['generation']) > Number(drain['generation']));
        assert.ok(successorReady, `slot ${String(drain['slot'])} drained before its successor was ready`);
      }
      for (const e of supervisorEvents(pool, 'worker.exit').filter((x) => x['reason'] === 'reload')) assert.deepEqual([e['expected'], e['code']], [true, 0]);
    });

    test(`10 kill -9 of a worker (pools of 1 to 5) under GET load: ${DEPARTURES[topology]}; each one replaced`, T, async (t) => {
      const { m2, pool } = await poolUnderTest(t, topology, POOL_FLAGS);
      await pool.waitPool(settled(3), '3 ready workers');
      const load = echoLoad(m2.port);
      const t0 = performance.now();
      await load.reached(300);
      let size = 3;
      let departures = 0;
      for (const [i, n] of [3, 3, 1, 1, 5, 5, 2, 2, 4, 4].entries()) {
        departures += await scaleTo(pool, size, n);
        size = n;
        const pids = await readyPids(pool);
        const victim = pids[i % pids.length]; // a different slot each time, where there is one
        assert.ok(victim !== undefined);
        const killedAt = performance.now();
        process.kill(victim, 'SIGKILL');
        await pool.waitPool((p) => settled(n)(p) && p.workers.every((w) => w.pid !== victim), `worker ${victim} replaced`);
        departures += 1;
        // dispatch retries a dead worker's GET once: the next kill waits until every request in flight at this one
        // has ended (each client finished one sent after it), or a retried request could meet a second kill (503).
        // direct retries nothing, and a client whose request was lost waits out its timeout: plain progress.
        if (topology === 'dispatch') await waitFor(() => allClientsSentAfter(load, killedAt), { timeoutMs: 30_000, what: `every client past kill ${i + 1}` });
        else await progress(load);
      }
      const quietFrom = performance.now();
      await progress(load, 300);
      await assertDepartures(t, pool, await load.stop(), departures, quietFrom, t0);
      const killed = supervisorEvents(pool, 'worker.exit').filter((e) => e['signal'] === 'SIGKILL');
      assert.equal(killed.length, 10, 'each kill -9 seen as such by the supervisor');
    });

    test(`maxRequests recycling and a SIGTERM to a worker under GET load: ${DEPARTURES[topology]}; the signalled worker exits 0`, T, async (t) => {
      const { m2, pool } = await poolUnderTest(t, topology, [...POOL_FLAGS, '--max-requests', '1500', '--max-requests-jitter', '300']);
      await pool.waitPool(settled(3), '3 ready workers');
      const load = echoLoad(m2.port);
      const t0 = performance.now();
      const recycled = (): number => supervisorEvents(pool, 'worker.exit').filter((l) => l['reason'] === 'recycle-requests').length;
      await waitFor(() => recycled() >= 4, { timeoutMs: 60_000, what: '4 workers recycled after maxRequests' });
      const [victim] = await readyPids(pool);
      assert.ok(victim !== undefined);
      process.kill(victim, 'SIGTERM');
      const exit = await pool.proc.waitForLog((l) => l['role'] === 'supervisor' && l['event'] === 'worker.exit' && l['workerPid'] === victim);
      await pool.waitPool((p) => p.ready === 3 && p.workers.every((w) => w.pid !== victim), `worker ${victim} replaced`);
      await progress(load, 300);
      const results = await load.stop();
      // Workers keep recycling to the end: every recycle and the SIGTERM are departures, and there is no quiet phase.
      await assertDepartures(t, pool, results, recycled() + 1, undefined, t0);
      assert.equal(exit['code'], 0, `the signalled worker left and exited cleanly: ${JSON.stringify(exit)}`);
      for (const e of supervisorEvents(pool, 'worker.exit').filter((x) => x['reason'] === 'recycle-requests')) assert.deepEqual([e['expected'], e['code']], [true, 0]);
    });

    test(`SIGTERM to the pool with held requests in flight: ${STOP[topology]}`, T, async (t) => {
      // Debug level: the workers log `request.start` as each request enters its handler.
      const { m2, pool } = await poolUnderTest(t, topology, ['--workers', '2', '--log-level', 'debug'], HOLD_APP);
      const before = await pool.waitPool(settled(2), '2 ready workers');
      const dispatcherPid = before.dispatcher?.pid ?? null;
      assert.equal(dispatcherPid !== null, topology === 'dispatch');
      const pids = [...before.workers.map((w) => w.pid as number), ...(dispatcherPid === null ? [] : [dispatcherPid])];
      const HELD = 4;
      const conns = await Promise.all(Array.from({ length: HELD }, () => HttpConnection.open(m2.port)));
      t.after(() => conns.forEach((c) => c.close()));
      // Held far longer than a SIGTERM takes to arrive: they are in their handlers when the pool starts to stop.
      for (const conn of conns) conn.send(buildRequest({ path: '/hold?ms=3000' }));
      const started = (): number => pool.proc.logs.filter((l) => l['role'] === 'worker' && l['event'] === 'request.start' && l['path'] === '/hold').length;
      await waitFor(() => started() === HELD, { what: `${HELD} requests in their handlers` });
      pool.proc.signal('SIGTERM');
      const answers = await Promise.all(conns.map((c) => c.read({ timeoutMs: 15_000 })));
      assert.deepEqual(answers.map((r) => `${r.status} ${r.body.toString()}`), Array.from({ length: HELD }, () => '200 held\n'));
      assert.deepEqual(await pool.proc.exited, [0, null]);
      await waitFor(() => pids.every((p) => !isAlive(p)), { what: 'every worker and dispatcher pid gone' });
      const exits = supervisorEvents(pool, 'worker.exit');
      assert.deepEqual(exits.map((e) => [e['reason'], e['expected'], e['code']]), [['stop', true, 0], ['stop', true, 0]]);
      const dispatcherExits = supervisorEvents(pool, 'dispatcher.exit');
      if (topology === 'dispatch') {
        assert.deepEqual(dispatcherExits.map((e) => [e['reason'], e['code']]), [['stop', 0]]);
        const lines = pool.proc.logs;
        assert.ok(exits.every((e) => lines.indexOf(e) < lines.indexOf(dispatcherExits[0]!)), 'the dispatcher stopped after every worker');
      } else {
        assert.deepEqual(dispatcherExits, []);
      }
      assert.equal(supervisorEvents(pool, 'pool.stop').at(-1)?.['outcome'], 'stopped');
    });

    test(`/metrics after 600 answered requests: ${METRICS[topology]}`, T, async (t) => {
      const { m2, pool } = await poolUnderTest(t, topology, ['--workers', '2', '--heartbeat-interval-ms', '200']);
      await pool.waitPool(settled(2), '2 ready workers');
      const load = echoLoad(m2.port);
      await load.reached(600);
      const results = await load.stop();
      assert.deepEqual(results.filter((r) => r.problem !== undefined || r.status !== 200).slice(0, 5), []);
      const total = results.length;
      const scrape = (): Promise<string> => fetch(`http://127.0.0.1:${pool.adminPort}/metrics`).then((r) => r.text());
      const sum = (text: string, name: string): number => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
      // Workers push their counters every 2 s and the dispatcher reports with its heartbeat: wait for the totals.
      const settledText = await waitFor(async () => {
        const text = await scrape();
        const complete = sum(text, 'm2pool_requests_total') >= total && (topology === 'direct' || sum(text, 'm2pool_dispatcher_requests_dispatched_total') >= total);
        return complete ? text : undefined;
      }, { timeoutMs: 15_000, what: `${total} requests on /metrics` });
      assert.equal(sum(settledText, 'm2pool_requests_total'), total, 'each request counted once by the workers');
      if (topology === 'dispatch') {
        assert.equal(sum(settledText, 'm2pool_dispatcher_requests_dispatched_total'), total, 'each request dispatched once');
        assert.equal(sum(settledText, 'm2pool_queue_wait_seconds_count'), total, 'each request has its queue wait');
      } else {
        assert.doesNotMatch(settledText, /^m2pool_dispatcher_|^m2pool_queue_wait_seconds/m, 'no dispatcher, no dispatcher metrics');
      }
    });

    test(`pipelined requests on 20 connections: ${ORDERING[topology]}`, T, async (t) => {
      const ordered = topology === 'dispatch' ? 2 : 1;
      const { m2, pool } = await poolUnderTest(t, topology, ['--workers', String(ordered), '--heartbeat-interval-ms', '200']);
      await pool.waitPool(settled(ordered), `${ordered} ready workers`);
      // The first request of each connection is the slowest: order must come from the pool, not from timing.
      // Mongrel2 closes a connection with more than 16 replies queued to it (docs/mongrel2.md §4.4), hence 10.
      const PIPELINED = 10;
      const pathOf = (c: number, i: number): string => (i === 0 ? `/slow?ms=${20 + c}` : i % 3 === 0 ? '/slow?ms=0' : `/echo/c${c}-${i}`);
      const bodyOf = (c: number, i: number): string => (i === 0 ? `slept ${20 + c} ms\n` : i % 3 === 0 ? 'slept 0 ms\n' : `/echo/c${c}-${i}`);
      const expected = (c: number): string[] => Array.from({ length: PIPELINED }, (_, i) => bodyOf(c, i));
      const pipeline = (): Promise<string[][]> => pipelinedBodies(m2.port, 20, (c) => Array.from({ length: PIPELINED }, (_, i) => pathOf(c, i)));
      (await pipeline()).forEach((bodies, c) => assert.deepEqual(bodies, expected(c), `connection ${c}, ${ordered} worker(s)`));
      if (topology === 'direct') {
        // Two workers each order only what they received: every request answered once, the order is not promised.
        await scaleTo(pool, 1, 2);
        (await pipeline()).forEach((bodies, c) => assert.deepEqual([...bodies].sort(), expected(c).sort(), `connection ${c}, 2 workers`));
      }
    });

    test('/readyz is 503 with a reason while Mongrel2 is stopped, 200 once it is back (both topologies)', T, async (t) => {
      const { m2, pool } = await poolUnderTest(t, topology, ['--workers', '2', '--heartbeat-interval-ms', '100']);
      const readyz = (): Promise<{ status: number; body: Record<string, unknown> }> => pool.call('GET', '/readyz');
      await waitFor(async () => (await readyz()).status === 200, { what: '/readyz 200' });

      await m2.halt();
      const down = await waitFor(async () => {
        const r = await readyz();
        return r.status === 503 ? r : undefined;
      }, { timeoutMs: 10_000, what: '/readyz 503 with Mongrel2 stopped' });
      assert.match(String(down.body['reason']), /Mongrel2/, JSON.stringify(down.body));
      assert.equal(down.body['topology'], topology);
      assert.match(String((await pool.pool()).notReadyReason), /Mongrel2/);
      // The workers' link reports and the dispatcher's own heartbeat reach the supervisor separately: /readyz may
      // turn 503 on the first before the second arrives.
      if (topology === 'dispatch') await waitFor(async () => (await pool.pool()).dispatcher?.mongrel2Ready === 0, { what: 'the dispatcher reports 0 Mongrel2 ready' });

      await m2.resume();
      await waitFor(async () => (await readyz()).status === 200, { timeoutMs: 15_000, what: '/readyz 200 with Mongrel2 back' });
    });
  });
}
