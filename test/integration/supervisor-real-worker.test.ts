/**
 * The supervisor with real `m2pool worker` processes (the example app) behind a real Mongrel2: requests keep
 * flowing while the pool scales down and while it rolls to a new generation. No request may get a wrong or
 * failed answer. A few may get no answer at all: in the direct topology a leaving worker's PULL pipe is discarded
 * by libzmq (docs/zeromq.md §2.2, §6.1: "losing nothing on a graceful leave cannot be done with PUSH/PULL alone",
 * measured 5–25 per leave); the planned dispatcher topology removes that. Those are counted, bounded and
 * reported, not hidden.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../src/config/schema';
import { HttpConnection, buildRequest } from '../helpers/http-client';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { HELLO_APP } from '../helpers/processes';
import { startPool } from '../helpers/supervisor-harness';
import { waitFor } from '../helpers/wait-for';

const T = { timeout: 60_000 };
/** Answers that never came, per leaving worker, tolerated in the direct topology (see the header). */
const LOSS_PER_LEAVE = 25;
const NO_ANSWER = /no complete response/;

/** Keep `clients` keep-alive connections busy until `stop()`; every answer must be the right 200. */
function load(port: number, clients: number) {
  let running = true;
  const problems: string[] = [];
  let ok = 0;
  const done = Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let n = 0;
      while (running) {
        const conn = await HttpConnection.open(port);
        try {
          // A few requests per connection: new connections also exercise Mongrel2's handler choice.
          for (let k = 0; k < 5 && running; k++, n++) {
            const tag = `c${c}-${n}`;
            conn.send(buildRequest({ path: n % 3 === 0 ? '/slow?ms=30' : `/echo/${tag}` }));
            const res = await conn.read({ timeoutMs: 3_000 });
            const body = res.body.toString();
            if (res.status !== 200 || (n % 3 !== 0 && body !== `/echo/${tag}`)) problems.push(`${tag}: ${res.status} ${body.slice(0, 80)}`);
            else ok += 1;
          }
        } catch (err) {
          problems.push(`c${c}-${n}: ${(err as Error).message}`);
        } finally {
          conn.close();
        }
      }
    }),
  );
  return {
    get ok() {
      return ok;
    },
    /** Wrong or failed answers (never acceptable). */
    get errors() {
      return problems.filter((p) => !NO_ANSWER.test(p));
    },
    /** Requests that got no answer (lost in a leaving worker's pipe). */
    get lost() {
      return problems.filter((p) => NO_ANSWER.test(p)).length;
    },
    async stop(): Promise<void> {
      running = false;
      await done;
    },
  };
}

async function realPool(t: Parameters<typeof startPool>[0], workers: number) {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const h = m2.handlers[0]!;
  const pool = await startPool(t, {
    app: HELLO_APP,
    workers,
    workerModule: DEFAULTS.workerModule,
    workerArgs: ['worker'],
    sendSpecs: [h.sendSpec],
    recvSpecs: [h.recvSpec],
    logLevel: 'warn', // keeps the workers' request logs out of the test output
    bootTimeoutMs: 10_000,
    heartbeatIntervalMs: 200,
    heartbeatTimeoutMs: 5_000,
    drainTimeoutMs: 5_000,
    shutdownTimeoutMs: 8_000,
  });
  await pool.waitForPool((p) => p.ready === workers, `${workers} real workers ready`, 20_000);
  return { m2, pool };
}

test('real workers: scale 3 → 1 under load drains the surplus without failing a request', T, async (t) => {
  const { m2, pool } = await realPool(t, 3);
  const traffic = load(m2.port, 8);
  await waitFor(() => traffic.ok >= 100, { timeoutMs: 15_000, what: '100 answered requests before scaling' });
  assert.equal((await pool.call('POST', '/pool/scale', { workers: 1 })).status, 200);
  await waitFor(() => pool.sink.events('worker.exit').length === 2, { timeoutMs: 15_000, what: 'the 2 drained workers to exit' });
  const before = traffic.ok;
  await waitFor(() => traffic.ok >= before + 100, { timeoutMs: 15_000, what: '100 more answers from the remaining worker' });
  await traffic.stop();
  t.diagnostic(`answered ${traffic.ok}, lost ${traffic.lost} while 2 workers left`);
  assert.deepEqual(traffic.errors, []);
  assert.ok(traffic.lost <= 2 * LOSS_PER_LEAVE, `${traffic.lost} requests lost`);
  for (const e of pool.sink.events('worker.exit')) assert.deepEqual([e['reason'], e['expected'], e['code']], ['scale-down', true, 0]);
  assert.equal(pool.sink.events('worker.kill').length, 0);
});

test('real workers: a rolling reload under load replaces every worker without failing a request', T, async (t) => {
  const { m2, pool } = await realPool(t, 2);
  const traffic = load(m2.port, 8);
  await waitFor(() => traffic.ok >= 100, { timeoutMs: 15_000, what: '100 answered requests before the reload' });
  let minReady = Infinity;
  pool.sink.onLine = () => {
    minReady = Math.min(minReady, pool.sup.readyCount());
  };
  assert.equal((await pool.call('POST', '/pool/reload')).status, 202);
  await waitFor(() => pool.sink.events('worker.exit').length === 2 && pool.sup.snapshot().rollout === null, { timeoutMs: 30_000, what: 'the reload to finish' });
  const before = traffic.ok;
  await waitFor(() => traffic.ok >= before + 100, { timeoutMs: 15_000, what: '100 more answers from generation 1' });
  await traffic.stop();
  t.diagnostic(`answered ${traffic.ok}, lost ${traffic.lost} while 2 workers left`);
  assert.deepEqual(traffic.errors, []);
  assert.ok(traffic.lost <= 2 * LOSS_PER_LEAVE, `${traffic.lost} requests lost`);
  assert.ok(minReady >= 2, `ready dropped to ${minReady}`);
  assert.ok(pool.sup.snapshot().workers.every((w) => w.generation === 1 && w.state === 'ready'));
});
