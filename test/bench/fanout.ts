/**
 * Broadcast fan-out (issue #20): a real Mongrel2, `m2pool start` (dispatch topology, 2 workers) with the chat
 * example (test/fixtures/push-app.ts), and `members` WebSocket clients (the `ws` package, in this process) in one
 * room. Measured in one run:
 *   latency    — `rounds` broadcasts one after another (POST /chat/say): time from sending the POST until the LAST
 *                member got the message; p50 / p99 over the rounds
 *   burst      — `burst` broadcasts sent 10 at a time: deliveries per second until every member got every one
 *   CPU        — CPU time (utime+stime, /proc) of the server side (Mongrel2, supervisor, dispatcher, workers) per
 *                delivered message during the burst, against the CPU per request of plain requests (GET /t/ping,
 *                10 clients) measured on the same pool right after: the ratio is what one delivery costs in
 *                requests
 * The clients' own CPU (this process) is not counted. Part of `npm run bench` (scenario `fanout`); alone:
 *   npm run build && node dist/test/bench/fanout.js [--members 1000] [--rounds 50] [--burst 100] [--requests 5000]
 * @module
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { startPushPool, type PushPool } from '../helpers/push-clients';
import { cpuSeconds } from './procstat';

/** Knobs of {@link runFanout}. */
export interface FanoutOptions {
  readonly members: number;
  readonly rounds: number;
  readonly burst: number;
  readonly requests: number;
}

/** Defaults of `npm run bench`. */
export const FANOUT_DEFAULTS: FanoutOptions = { members: 1000, rounds: 50, burst: 100, requests: 5000 };

/** What the scenario measured. */
export interface FanoutReport {
  readonly options: FanoutOptions;
  /** ms from POST to the last member, per round. */
  readonly lastMemberP50Ms: number;
  readonly lastMemberP99Ms: number;
  readonly burstSeconds: number;
  readonly deliveriesPerSecond: number;
  /** Server-side CPU µs per delivered message (burst) and per request (GET /t/ping); their ratio. */
  readonly cpuUsPerDelivery: number;
  readonly cpuUsPerRequest: number;
  readonly deliveryToRequestCpu: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** Every descendant of `pid` (from /proc/<pid>/task/<pid>/children), itself included. */
function tree(pid: number): number[] {
  const out = [pid];
  try {
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) out.push(...tree(Number(child)));
  } catch {
    // gone
  }
  return out;
}

function serverCpu(pids: readonly number[]): number {
  let s = 0;
  for (const pid of pids) {
    try {
      s += cpuSeconds(pid);
    } catch {
      // gone
    }
  }
  return s;
}

function post(agent: Agent, port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function getOk(agent: Agent, port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`GET ${path}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `n` tasks, `concurrency` at a time. */
async function pooled(n: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await task(next++);
  }));
}

/** Counts, per message text, how many members got it and when the last one did. */
class Tally {
  readonly #count = new Map<string, number>();
  readonly #last = new Map<string, number>();
  readonly #waiters = new Map<string, () => void>();
  constructor(readonly members: number) {}

  got(text: string): void {
    const n = (this.#count.get(text) ?? 0) + 1;
    this.#count.set(text, n);
    if (n === this.members) {
      this.#last.set(text, performance.now());
      this.#waiters.get(text)?.();
    }
  }

  /** Resolves with the time the last member got `text`; rejects after `timeoutMs`. */
  all(text: string, timeoutMs = 30_000): Promise<number> {
    const done = this.#last.get(text);
    if (done !== undefined) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.#count.get(text) ?? 0} of ${this.members} members got ${text}`)), timeoutMs);
      this.#waiters.set(text, () => {
        clearTimeout(timer);
        resolve(this.#last.get(text) as number);
      });
    });
  }
}

/** Run the scenario; `log` gets progress lines. */
export async function runFanout(o: FanoutOptions, log: (line: string) => void): Promise<FanoutReport> {
  let m2: TestMongrel2 | undefined;
  let pool: PushPool | undefined;
  const sockets: WebSocket[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 10 });
  try {
    m2 = await startTestMongrel2();
    pool = await startPushPool([m2], ['--workers', '2', '--request-log-level', 'trace']);
    const port = m2.port;
    const tally = new Tally(o.members);
    await pooled(o.members, 50, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/chat/ws/fan`, { perMessageDeflate: false });
      ws.on('message', (data) => tally.got(String(data)));
      sockets.push(ws);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
    });
    log(`${o.members} members joined`);
    const pids = [...tree(pool.proc.pid), m2.process.child.pid as number];
    // Latency: one broadcast at a time.
    const latencies: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const text = `round ${r}`;
      const t0 = performance.now();
      if ((await post(agent, port, '/chat/say/fan', text)) !== 204) throw new Error('POST /chat/say refused');
      latencies.push((await tally.all(text)) - t0);
    }
    latencies.sort((x, y) => x - y);
    log(`latency to the last of ${o.members} members: p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p99 ${quantile(latencies, 0.99).toFixed(1)} ms`);
    // Burst: deliveries per second and CPU per delivery.
    const cpu0 = serverCpu(pids);
    const t0 = performance.now();
    await pooled(o.burst, 10, (i) => post(agent, port, '/chat/say/fan', `burst ${i}`));
    await Promise.all(Array.from({ length: o.burst }, (_, i) => tally.all(`burst ${i}`)));
    const burstSeconds = (performance.now() - t0) / 1000;
    const burstCpu = serverCpu(pids) - cpu0;
    const deliveries = o.burst * o.members;
    log(`burst of ${o.burst} broadcasts: ${Math.round(deliveries / burstSeconds)} deliveries/s, ${((burstCpu / deliveries) * 1e6).toFixed(2)} µs CPU per delivery`);
    // Baseline: plain requests on the same pool.
    const cpu1 = serverCpu(pids);
    await pooled(o.requests, 10, () => getOk(agent, port, '/t/ping'));
    const requestCpu = serverCpu(pids) - cpu1;
    const cpuUsPerDelivery = (burstCpu / deliveries) * 1e6;
    const cpuUsPerRequest = (requestCpu / o.requests) * 1e6;
    log(`plain request: ${cpuUsPerRequest.toFixed(1)} µs CPU; one delivery = ${(cpuUsPerDelivery / cpuUsPerRequest).toFixed(4)} requests`);
    return {
      options: o,
      lastMemberP50Ms: quantile(latencies, 0.5),
      lastMemberP99Ms: quantile(latencies, 0.99),
      burstSeconds,
      deliveriesPerSecond: deliveries / burstSeconds,
      cpuUsPerDelivery,
      cpuUsPerRequest,
      deliveryToRequestCpu: cpuUsPerDelivery / cpuUsPerRequest,
    };
  } finally {
    agent.destroy();
    for (const ws of sockets) ws.terminate();
    await pool?.stop();
    await m2?.stop();
  }
}

/** The report section. */
export function fanoutMarkdown(r: FanoutReport): string[] {
  return [
    '',
    `## fanout: one broadcast to ${r.options.members} WebSocket members (dispatch topology, 2 workers)`,
    '',
    '| measure | value |',
    '|---|---|',
    `| time to the last member, p50 (${r.options.rounds} broadcasts one at a time) | ${r.lastMemberP50Ms.toFixed(1)} ms |`,
    `| time to the last member, p99 | ${r.lastMemberP99Ms.toFixed(1)} ms |`,
    `| deliveries per second (${r.options.burst} broadcasts, 10 at a time) | ${Math.round(r.deliveriesPerSecond)} |`,
    `| server CPU per delivery | ${r.cpuUsPerDelivery.toFixed(2)} µs |`,
    `| server CPU per plain request (GET /t/ping, same run) | ${r.cpuUsPerRequest.toFixed(1)} µs |`,
    `| one delivery costs, in requests | ${r.deliveryToRequestCpu.toFixed(4)} |`,
  ];
}

if (require.main === module) {
  const { values } = parseArgs({ options: { members: { type: 'string' }, rounds: { type: 'string' }, burst: { type: 'string' }, requests: { type: 'string' } } });
  const num = (v: string | undefined, d: number): number => (v === undefined ? d : Number(v));
  const o: FanoutOptions = { members: num(values.members, FANOUT_DEFAULTS.members), rounds: num(values.rounds, FANOUT_DEFAULTS.rounds), burst: num(values.burst, FANOUT_DEFAULTS.burst), requests: num(values.requests, FANOUT_DEFAULTS.requests) };
  runFanout(o, (line) => process.stdout.write(`${line}\n`)).then(
    (r) => {
      process.stdout.write(`${fanoutMarkdown(r).join('\n')}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`fanout: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
