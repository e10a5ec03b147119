/**
 * Real clients for the push tests (issue #20): a `ws` WebSocket that keeps every message, plain HTTP GET/POST over
 * node:http (no keep-alive agent), and a raw Server-Sent Events reader.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { freePort } from './ports';
import { CLI, REPO_ROOT, spawnNode, type TestProcess } from './processes';
import { waitFor } from './wait-for';

/** A WebSocket client that keeps every text message it got. */
export interface Member {
  readonly ws: WebSocket;
  readonly got: string[];
  /** Resolves with the first `n` messages (already got or future). */
  first(n: number, what?: string): Promise<string[]>;
  /** Send `text` and resolve with the next message. */
  ask(text: string): Promise<string>;
}

/** Connect to `url` and collect its messages. */
export async function member(url: string): Promise<Member> {
  const ws = new WebSocket(url);
  const got: string[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data, binary) => {
    got.push(binary ? `<binary ${String(data)}>` : String(data));
    for (const w of [...waiters]) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
  });
  const first = (n: number, what = `${n} messages`): Promise<string[]> =>
    waitFor(() => (got.length >= n ? got.slice(0, n) : undefined), { timeoutMs: 15_000, what: `${what} (got ${JSON.stringify(got.slice(0, 5))}…)` });
  const ask = async (text: string): Promise<string> => {
    const before = got.length;
    ws.send(text);
    const all = await first(before + 1, `answer to ${text}`);
    return all[before] as string;
  };
  return { ws, got, first, ask };
}

/** POST text/plain; resolves with the status. */
export function post(port: number, urlPath: string, body = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, method: 'POST', headers: { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** GET; resolves with status and body. */
export function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A raw SSE reader: the events' data in order, the comments seen, the status and headers. */
export interface SseReader {
  readonly status: number;
  readonly contentType: string;
  readonly data: string[];
  /** Every event block as received (all its lines). */
  readonly blocks: string[];
  comments: number;
  close(): void;
}

export function sse(port: number, urlPath: string, headers: Record<string, string> = {}): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, agent: false, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const reader: SseReader = { status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), data: [], blocks: [], comments: 0, close: () => req.destroy() };
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          reader.blocks.push(block);
          const lines = block.split('\n');
          if (lines.every((l) => l.startsWith(':'))) reader.comments += 1;
          const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
          if (data.length > 0) reader.data.push(data.join('\n'));
        }
      });
      res.on('error', () => undefined);
      resolve(reader);
    });
    req.on('error', reject);
    req.end();
  });
}


/** A pool serving the push fixture app (test/fixtures/push-app.ts) behind the given Mongrel2 servers. */
export interface PushPool {
  readonly proc: TestProcess;
  readonly adminPort: number;
  readonly dir: string;
  /** Lines of the app's event log (disconnect events, dropped-WebSocket close handlers). */
  events(): Promise<string[]>;
  stop(): Promise<void>;
}

/** `m2pool start` with the push fixture app; `extra` flags (e.g. `--topology direct`), `env` for the app. */
export async function startPushPool(servers: ReadonlyArray<{ workerArgs(i?: number): string[] }>, extra: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<PushPool> {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2push-'));
  const adminPort = await freePort();
  const app = path.join(REPO_ROOT, 'dist/test/fixtures/push-app.js');
  const eventsFile = path.join(dir, 'events.log');
  const proc = spawnNode([CLI, 'start', '--app', app, ...servers.flatMap((s) => s.workerArgs()), '--admin', `127.0.0.1:${adminPort}`, '--run-dir', path.join(dir, 'run'), ...extra], {
    env: { PUSH_EVENTS_FILE: eventsFile, ...env },
  });
  const stop = async (): Promise<void> => {
    await proc.stop(10_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await proc.waitForLog((l) => l['event'] === 'pool.ready', 30_000);
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}\nstderr: ${proc.stderr()}`);
  }
  const events = async (): Promise<string[]> => (await readFile(eventsFile, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
  return { proc, adminPort, dir, events, stop };
}

/** The sum of every sample of metric `name` (any labels) in the pool's `/metrics`. */
export async function metricSum(adminPort: number, name: string): Promise<number> {
  const { body } = await get(adminPort, '/metrics');
  let sum = 0;
  for (const line of body.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
