/**
 * How long the supervisor takes to answer `GET /metrics` for a 16-worker pool, against `GET /healthz` on the same
 * admin server in the same run (the baseline: same HTTP stack, no metrics work). Not a test.
 *
 *   npx tsc -p . && node dist/test/bench/metrics-scrape.js [--workers 16] [--scrapes 200]
 *
 * Starts a real Mongrel2, `m2pool start` with the example app and N workers, sends traffic over several routes
 * so every worker has request series, waits until every worker pushed a snapshot, then times `scrapes` requests
 * of each kind, interleaved (so both see the same machine noise), sequentially on one keep-alive connection per
 * kind: idle, then again while clients keep the pool busy. Prints p50/p99, the ratio to the baseline and the size
 * of the exposition.
 * @module
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { HttpConnection, buildRequest } from '../helpers/http-client';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { CLI, HELLO_APP, spawnNode } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

interface Timed {
  readonly ms: number;
  readonly bytes: number;
  readonly status: number;
}

function timedGet(agent: Agent, port: number, path: string, accept?: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request({ host: '127.0.0.1', port, path, agent, headers: accept === undefined ? {} : { accept } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ ms: performance.now() - started, bytes, status: res.statusCode ?? 0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function getText(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
}

/** Sum of every `m2pool_requests_total` sample in an exposition. */
function requestsTotal(text: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith('m2pool_requests_total')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

interface Row {
  readonly name: string;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly bytes: number;
}

function summarise(name: string, samples: readonly Timed[]): Row {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const bad = samples.filter((s) => s.status !== 200);
  if (bad.length > 0) throw new Error(`${name}: ${bad.length} answers were not 200 (first: ${bad[0]?.status})`);
  return { name, p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), mean: ms.reduce((a, b) => a + b, 0) / ms.length, bytes: samples.at(-1)?.bytes ?? 0 };
}

/** Keep `clients` keep-alive connections busy over a few routes until `stop()`. */
function traffic(port: number, clients: number) {
  let running = true;
  let answered = 0;
  const paths = ['/', '/echo/a', '/echo/b', '/inspect/x', '/missing', '/slow?ms=1'];
  const done = Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const conn = await HttpConnection.open(port);
      try {
        for (let i = c; running; i++) {
          conn.send(buildRequest({ path: paths[i % paths.length] ?? '/' }));
          await conn.read({ timeoutMs: 10_000 });
          answered += 1;
        }
      } finally {
        conn.close();
      }
    }),
  );
  return {
    get answered() {
      return answered;
    },
    async stop(): Promise<void> {
      running = false;
      await done;
    },
  };
}

async function measure(port: number, scrapes: number): Promise<Row[]> {
  const agents = [new Agent({ keepAlive: true, maxSockets: 1 }), new Agent({ keepAlive: true, maxSockets: 1 }), new Agent({ keepAlive: true, maxSockets: 1 })];
  const [a0, a1, a2] = agents as [Agent, Agent, Agent];
  const healthz: Timed[] = [];
  const metrics: Timed[] = [];
  const openMetrics: Timed[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      await timedGet(a0, port, '/healthz');
      await timedGet(a1, port, '/metrics');
      await timedGet(a2, port, '/metrics', 'application/openmetrics-text; version=1.0.0');
    }
    for (let i = 0; i < scrapes; i++) {
      healthz.push(await timedGet(a0, port, '/healthz'));
      metrics.push(await timedGet(a1, port, '/metrics'));
      openMetrics.push(await timedGet(a2, port, '/metrics', 'application/openmetrics-text; version=1.0.0'));
    }
  } finally {
    for (const a of agents) a.destroy();
  }
  return [summarise('GET /healthz (baseline)', healthz), summarise('GET /metrics (text 0.0.4)', metrics), summarise('GET /metrics (OpenMetrics)', openMetrics)];
}

function print(title: string, rows: readonly Row[]): void {
  const base = rows[0]?.p50 ?? NaN;
  const fmt = (n: number): string => n.toFixed(2).padStart(8);
  process.stdout.write(`\n${title}\n${'request'.padEnd(28)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'mean ms'.padStart(8)}${'p50/base'.padStart(10)}${'bytes'.padStart(9)}\n`);
  for (const r of rows) process.stdout.write(`${r.name.padEnd(28)}${fmt(r.p50)}${fmt(r.p99)}${fmt(r.mean)}${(r.p50 / base).toFixed(1).padStart(10)}${String(r.bytes).padStart(9)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { workers: { type: 'string', default: '16' }, scrapes: { type: 'string', default: '200' } } });
  const workers = Number(values.workers);
  const scrapes = Number(values.scrapes);
  const m2 = await startTestMongrel2();
  const adminPort = await freePort();
  const pool = spawnNode([
    CLI, 'start', '--app', HELLO_APP, '--workers', String(workers), '--max-workers', String(Math.max(32, workers)),
    ...m2.workerArgs(), '--admin', `127.0.0.1:${adminPort}`, '--log-level', 'warn', '--boot-timeout-ms', '60000',
  ]);
  try {
    await waitFor(async () => JSON.parse(await getText(adminPort, '/pool')) as { ready: number }, { timeoutMs: 60_000, what: 'the admin API' });
    // Traffic until every worker has answered something and pushed it (a snapshot-age series per slot).
    const warm = traffic(m2.port, Math.max(8, workers));
    await waitFor(async () => {
      const doc = JSON.parse(await getText(adminPort, '/pool')) as { ready: number; workers: Array<{ handled: number }> };
      return doc.ready === workers && doc.workers.every((w) => w.handled > 0);
    }, { timeoutMs: 60_000, intervalMs: 200, what: `all ${workers} workers to answer requests` });
    await warm.stop();
    // Quiescence: every answered request is in a pushed snapshot, so the idle scrapes see the final series.
    await waitFor(async () => requestsTotal(await getText(adminPort, '/metrics')) === warm.answered, { timeoutMs: 10_000, what: 'the last pushes' });
    const idle = await measure(adminPort, scrapes);
    const busy = traffic(m2.port, 8);
    const loaded = await measure(adminPort, scrapes);
    await busy.stop();
    const series = (await getText(adminPort, '/metrics')).split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    process.stdout.write(`m2pool /metrics scrape, ${workers} workers, ${scrapes} scrapes per row, node ${process.version}; ${series} samples in the exposition; ${warm.answered + busy.answered} requests sent\n`);
    print('idle pool', idle);
    print('pool under load (8 keep-alive clients)', loaded);
    process.stdout.write(`${JSON.stringify({ workers, scrapes, series, idle, loaded })}\n`);
  } finally {
    await pool.stop();
    await m2.stop();
  }
}

main().then(
  () => undefined,
  (err: unknown) => {
    process.stderr.write(`metrics-scrape: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
