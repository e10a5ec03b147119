/**
 * Measures what a `kill -9` of the dispatcher costs its clients (issue 18, item 3): per kill, what became of the
 * requests in flight at that moment (answered 200 — by a worker's hand-over or normally —, 503, or connection
 * closed, after which the client sends its request again on a new connection: "retried"), and how many clients
 * were still waiting 30 s after the kill.
 *
 *   npm run build && node dist/test/bench/dispatcher-loss.js [--rounds 5] [--clients 24] [--slow-ms 20] [--no-control]
 *
 * Setup: a real Mongrel2 (reaper off, as shipped), a real supervisor (`m2pool start`, which forks the dispatcher
 * and restarts it when it dies) with 2 workers of `test/fixtures/slow-post-app`, and `clients` keep-alive
 * connections each sending `GET /slow?ms=N` one at a time with a 60 s client timeout (so a request nobody answers
 * stays visible as waiting). `--no-control` runs the pool without `--control-spec` (no sweep: the old behaviour
 * for requests that died in the dispatcher).
 * @module
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { HttpConnection, buildRequest, rawRequest } from '../helpers/http-client';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { CLI, REPO_ROOT, spawnNode } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

const SLOW_APP = path.join(REPO_ROOT, 'dist/test/fixtures/slow-post-app.js');
const WAIT_BOUND_MS = 30_000;

/** One request's fate. */
interface Sent {
  readonly client: number;
  readonly sentAt: number;
  endedAt: number | undefined;
  outcome: 'answered' | '503' | 'closed' | 'other' | undefined;
  /** Sent again after its connection was closed without an answer. */
  retryOf: Sent | undefined;
}

interface PoolDoc {
  ready: number;
  dispatcher: { state: string; pid: number | null } | null;
}

interface Round {
  inFlight: number;
  answered: number;
  unavailable: number;
  closed: number;
  retriedOk: number;
  waiting30s: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, clients: { type: 'string', default: '24' }, 'slow-ms': { type: 'string', default: '20' }, 'no-control': { type: 'boolean', default: false }, verbose: { type: 'boolean', default: false } } });
  const rounds = Number(values.rounds);
  const clients = Number(values.clients);
  const slowMs = Number(values['slow-ms']);
  const m2 = await startTestMongrel2();
  const adminPort = await freePort();
  const control = values['no-control'] === true ? [] : ['--control-spec', `ipc://${path.join(m2.dir, 'run', 'control')}`];
  const pool = spawnNode([CLI, 'start', '--app', SLOW_APP, '--workers', '2', ...m2.workerArgs(), '--admin', `127.0.0.1:${adminPort}`, '--run-dir', path.join(m2.dir, 'pool'), '--log-level', values.verbose === true ? 'info' : 'warn', ...control]);
  const poolDoc = async (): Promise<PoolDoc> => JSON.parse((await rawRequest(adminPort, { path: '/pool' })).body.toString()) as PoolDoc;
  const ready = (): Promise<PoolDoc> => waitFor(async () => {
    const d = await poolDoc();
    return d.ready === 2 && d.dispatcher?.state === 'ready' ? d : undefined;
  }, { timeoutMs: 60_000, what: '2 ready workers and a ready dispatcher' });

  const sent: Sent[] = [];
  let stopping = false;
  const loops = Array.from({ length: clients }, async (_, c): Promise<void> => {
    let conn: HttpConnection | undefined;
    let retryOf: Sent | undefined;
    for (let n = 0; !stopping; n += 1) {
      conn ??= await HttpConnection.open(m2.port);
      const s: Sent = { client: c, sentAt: performance.now(), endedAt: undefined, outcome: undefined, retryOf };
      sent.push(s);
      conn.send(buildRequest({ path: `/slow?ms=${slowMs}&tag=c${c}-${n}` }));
      try {
        const res = await conn.read({ timeoutMs: 60_000 });
        s.outcome = res.status === 200 && res.body.toString() === `slept ${slowMs} ms c${c}-${n}\n` ? 'answered' : res.status === 503 ? '503' : 'other';
      } catch (err) {
        s.outcome = err instanceof Error && /closed before a complete response/.test(err.message) ? 'closed' : 'other';
      }
      s.endedAt = performance.now();
      retryOf = s.outcome === 'closed' ? s : undefined;
      if (s.outcome !== 'answered') {
        conn.close();
        conn = undefined;
      }
    }
    conn?.close();
  });

  const results: Round[] = [];
  try {
    for (let r = 0; r < rounds; r += 1) {
      const doc = await ready();
      const answeredBefore = sent.filter((s) => s.outcome === 'answered').length;
      await waitFor(() => sent.filter((s) => s.outcome === 'answered').length >= answeredBefore + 500, { timeoutMs: 60_000, what: 'load before the kill' });
      const killedAt = performance.now();
      process.kill(doc.dispatcher?.pid ?? 0, 'SIGKILL');
      const atKill = sent.filter((s) => s.sentAt < killedAt && (s.endedAt === undefined || s.endedAt > killedAt));
      await waitFor(() => performance.now() > killedAt + WAIT_BOUND_MS, { timeoutMs: WAIT_BOUND_MS + 5_000, intervalMs: 200 });
      const retried = sent.filter((s) => s.retryOf !== undefined && atKill.includes(s.retryOf) && s.outcome === 'answered');
      const round: Round = {
        inFlight: atKill.length,
        answered: atKill.filter((s) => s.outcome === 'answered').length,
        unavailable: atKill.filter((s) => s.outcome === '503').length,
        closed: atKill.filter((s) => s.outcome === 'closed').length,
        retriedOk: retried.length,
        waiting30s: atKill.filter((s) => s.endedAt === undefined).length,
      };
      results.push(round);
      process.stdout.write(`kill ${r + 1}: ${JSON.stringify(round)}\n`);
      if (values.verbose === true) {
        for (const l of pool.logs.splice(0)) if (/crash|handover|worker.lost|dispatcher.(start|exit)|vanish/.test(String(l['event'] ?? l['msg']))) process.stdout.write(`  ${JSON.stringify(l)}\n`);
      }
    }
  } finally {
    stopping = true;
    await pool.stop(15_000);
    // Clients still waiting on a dead connection end when Mongrel2 goes.
    await m2.stop();
    await Promise.all(loops);
  }
  const sum = (k: keyof Round): number => results.reduce((a, x) => a + x[k], 0);
  process.stdout.write(
    `${rounds} dispatcher kill -9 under ${clients} keep-alive clients${values['no-control'] === true ? ' (no --control-spec)' : ''}: ` +
      `${sum('inFlight')} requests in flight at the kills; answered ${sum('answered')}, 503 ${sum('unavailable')}, ` +
      `connection closed ${sum('closed')} (sent again and answered: ${sum('retriedOk')}); ` +
      `clients still waiting 30 s later: ${results.map((x) => x.waiting30s).join(', ')}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
