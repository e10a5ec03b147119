/**
 * The worker's request path without ZeroMQ, in process: a `WorkerRuntime` reading from a fake link that hands
 * out the message Mongrel2 sends for wrk's `GET /echo/hello` (tnetstring headers, 50 connection ids in turn)
 * and swallows the replies. Requests per second of parse → classify → `app.dispatch` → response → reply
 * framing → per-connection ordering → stats (and metrics when on): the JS cost a worker adds per request,
 * next to `app.dispatch` alone and the codec. Metrics on versus off isolates their per-request cost.
 * Times are process CPU time (user + system, all threads): unlike wall time they do not grow when other jobs
 * share the machine.
 */
import { pino, type LevelWithSilent } from 'pino';
import { Cancellation } from '../../src/app/cancellation';
import type { ReplySink } from '../../src/http/sink';
import { WorkerMetrics } from '../../src/metrics/worker-metrics';
import { parseMessage } from '../../src/protocol/request-parser';
import { encode } from '../../src/protocol/tnetstring';
import { messageOptions, type WorkerApp } from '../../src/adapters/app-contract';
import { WorkerRuntime } from '../../src/worker/runtime';
import { loadApp } from '../../src/worker/app-loader';
import { FakeLink, FakeTransport } from '../helpers/fake-link';
import { HELLO_APP } from '../helpers/processes';

const SENDER = '53f9f1d1-1116-4751-b6ff-4fbe3e43d142';
const CONNECTIONS = 50;

/** What Mongrel2 1.12 sends (protocol='tnetstring') for `GET /echo/hello` from wrk on connection `id`. */
export function echoRequest(id: number): Buffer {
  const headers = encode({
    REMOTE_ADDR: '127.0.0.1',
    METHOD: 'GET',
    URL_SCHEME: 'http',
    PATTERN: '/',
    URI: '/echo/hello',
    VERSION: 'HTTP/1.1',
    PATH: '/echo/hello',
    host: 'm2pool',
    'x-forwarded-for': '127.0.0.1',
  });
  return Buffer.concat([Buffer.from(`${SENDER} ${id} /echo/hello `, 'latin1'), headers, Buffer.from('0:,', 'latin1')]);
}

/** CPU milliseconds (user + system) this process used since `since`. */
function cpuMsSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

/** Serve `n` requests through a fresh WorkerRuntime; returns the CPU ms used. */
async function runtimeOnce(app: WorkerApp, frames: readonly Buffer[], n: number, metrics: boolean, requestLogLevel: LevelWithSilent = 'debug'): Promise<number> {
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let left = n;
  let sent = 0;
  const link = new FakeLink({
    record: false,
    source: () => (left === 0 ? null : frames[--left % frames.length]!),
    onSend: () => {
      if (++sent === n) done();
      return Promise.resolve();
    },
  });
  const transport = new FakeTransport([link]);
  const runtime = new WorkerRuntime({
    transport,
    app,
    logger: pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true })),
    maxInFlight: 64,
    maxUploadBytes: 1 << 20,
    requestLogLevel,
    lingerMs: 0,
    metrics: metrics ? new WorkerMetrics() : undefined,
  });
  const t0 = process.cpuUsage();
  runtime.start();
  await finished;
  const ms = cpuMsSince(t0);
  await runtime.stop(0);
  return ms;
}

/** `app.dispatch` alone, `n` requests, 64 at a time; returns the CPU ms used. */
async function dispatchOnce(app: WorkerApp, frames: readonly Buffer[], n: number): Promise<number> {
  const msgs = frames.map((f) => parseMessage(f));
  const sink: ReplySink = { write: () => Promise.resolve(), close: () => Promise.resolve() };
  const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true }));
  const t0 = process.cpuUsage();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await app.dispatch(msgs[i % msgs.length]!, sink, messageOptions(new Cancellation(), logger));
    }
  };
  await Promise.all(Array.from({ length: 64 }, lane));
  return cpuMsSince(t0);
}

/** One pipeline case's result. */
export interface PipelineResult {
  readonly name: string;
  /** Requests per CPU second. */
  readonly requestsPerSec: number;
  /** CPU µs per request. */
  readonly usPerRequest: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Worker pipeline without ZeroMQ: metrics on and off, and `app.dispatch` alone (medians of `repeats`). */
export async function runPipelineBench(n: number, repeats: number): Promise<PipelineResult[]> {
  const app = await loadApp(HELLO_APP, process.cwd());
  const frames = Array.from({ length: CONNECTIONS }, (_, i) => echoRequest(i + 1));
  const cases: Array<[string, () => Promise<number>]> = [
    ['WorkerRuntime, fake link, metrics on (GET /echo/hello)', () => runtimeOnce(app, frames, n, true)],
    ['WorkerRuntime, fake link, metrics off', () => runtimeOnce(app, frames, n, false)],
    ['WorkerRuntime, fake link, metrics on, request log at info (to /dev/null)', () => runtimeOnce(app, frames, n, true, 'info')],
    ['app.dispatch alone (64 concurrent)', () => dispatchOnce(app, frames, n)],
  ];
  for (const [, run] of cases) await run(); // warm-up
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < repeats; r++) for (const [i, [, run]] of cases.entries()) samples[i]!.push(await run());
  return cases.map(([name], i) => {
    const ms = median(samples[i]!);
    return { name, requestsPerSec: (n / ms) * 1000, usPerRequest: (ms * 1000) / n };
  });
}
