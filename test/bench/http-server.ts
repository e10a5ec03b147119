/**
 * Variant (d) of the benchmark: the same app answered by plain `node:http`, no Mongrel2 and no ZeroMQ — for
 * readers who wonder what Mongrel2 costs. A node:cluster primary forks N workers sharing one listening socket;
 * the workers accept directly (`SCHED_NONE`): with Node's default round-robin the primary accepts every
 * connection and hands it to a worker over IPC, and a burst of 1000 connects then takes over a second
 * (p99 above 2 s, timeouts). Each worker loads the app module exactly as
 * `m2pool worker --app` does and calls `app.dispatch(msg, sink, …)` for every request: the adapter builds the
 * RawMessage Mongrel2 would have sent (tnetstring-style headers: METHOD, VERSION, URI, PATH, QUERY, …) and the
 * sink turns the framework's serialised HTTP response back into `writeHead` + `write` on the ServerResponse,
 * so status, headers and body are the app's own. Fixed-length responses only (what the bench routes send).
 * Usage: node http-server.js <app-module> <port> <workers>    (prints `http.ready <pid,pid,…>`)
 */
import cluster from 'node:cluster';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pino } from 'pino';
import { Cancellation } from '../../src/app/cancellation';
import type { ReplySink } from '../../src/http/sink';
import type { HeaderValue, RawMessage } from '../../src/protocol/types';
import { loadApp } from '../../src/worker/app-loader';
import { messageOptions } from '../../src/worker/app-contract';

const CRLFCRLF = Buffer.from('\r\n\r\n');
/** The worker runs with --log-level info and the request log off; nothing is logged per request here either. */
const silentLogger = pino({ level: 'silent' });

/** Writes the app's serialised response to a node:http ServerResponse. */
class ServerResponseSink implements ReplySink {
  readonly #res: ServerResponse;
  #head: Buffer | undefined = Buffer.alloc(0);
  #closeAfter = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  write(data: Buffer): Promise<void> {
    if (this.#head === undefined) {
      this.#res.write(data);
      return Promise.resolve();
    }
    const buf = this.#head.length === 0 ? data : Buffer.concat([this.#head, data]);
    const end = buf.indexOf(CRLFCRLF);
    if (end < 0) {
      this.#head = buf;
      return Promise.resolve();
    }
    this.#head = undefined;
    const lines = buf.toString('latin1', 0, end).split('\r\n');
    const status = lines[0] ?? '';
    const flat: string[] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      if (name.toLowerCase() === 'transfer-encoding') throw new Error('bench adapter: chunked responses are not supported');
      flat.push(name, line.slice(colon + 1).trim());
    }
    this.#res.writeHead(Number(status.slice(9, 12)), status.slice(13), flat);
    if (buf.length > end + 4) this.#res.write(buf.subarray(end + 4));
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closeAfter = true;
    return Promise.resolve();
  }

  /** The request is finished: end the response (and the connection, when the app closed it). */
  finish(): void {
    if (this.#head !== undefined && !this.#res.headersSent) this.#res.statusCode = 500;
    this.#res.end();
    if (this.#closeAfter) this.#res.once('finish', () => this.#res.socket?.end());
  }
}

const connIds = new WeakMap<Socket, number>();
let nextConnId = 1;

function connIdOf(socket: Socket): number {
  let id = connIds.get(socket);
  if (id === undefined) connIds.set(socket, (id = nextConnId++));
  return id;
}

/** The message Mongrel2 would have sent for this request. */
function toRawMessage(req: IncomingMessage, body: Buffer): RawMessage {
  const uri = req.url ?? '/';
  const q = uri.indexOf('?');
  const path = q < 0 ? uri : uri.slice(0, q);
  const headers: Record<string, HeaderValue> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const prev = headers[key];
    headers[key] = prev === undefined ? value : typeof prev === 'string' ? [prev, value] : [...prev, value];
  }
  headers['REMOTE_ADDR'] = req.socket.remoteAddress ?? '';
  headers['METHOD'] = req.method ?? 'GET';
  headers['URL_SCHEME'] = 'http';
  headers['PATTERN'] = '/';
  if (q >= 0) headers['QUERY'] = uri.slice(q + 1);
  headers['URI'] = uri;
  headers['VERSION'] = `HTTP/${req.httpVersion}`;
  headers['PATH'] = path;
  return { sender: 'node-http', connId: connIdOf(req.socket), path, headers, body, protocol: 'tnetstring' };
}

async function serve(appModule: string, port: number): Promise<void> {
  const app = await loadApp(appModule, process.cwd());
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const sink = new ServerResponseSink(res);
      const cancellation = new Cancellation();
      res.once('close', () => {
        if (!res.writableFinished) cancellation.abort(new Error('client disconnected'));
      });
      const body = chunks.length === 0 ? Buffer.alloc(0) : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      void app
        .dispatch(toRawMessage(req, body), sink, messageOptions(cancellation, silentLogger))
        .then(() => sink.finish(), () => sink.finish());
    });
  });
  // Node's default backlog (511) overflows when wrk opens 1000 connections at once: SYN retries then add
  // seconds to the first requests. Mongrel2 listens with a larger one; the kernel caps it at somaxconn.
  server.listen({ port, host: '127.0.0.1', backlog: 4096 });
}

function main(): void {
  const [appModule, portText, workersText] = process.argv.slice(2);
  const port = Number(portText);
  const workers = Number(workersText ?? '1');
  if (appModule === undefined || !Number.isInteger(port) || !Number.isInteger(workers) || workers < 1) {
    process.stderr.write('usage: http-server <app-module> <port> <workers>\n');
    process.exit(2);
  }
  if (cluster.isPrimary) {
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const pids: number[] = [];
    let stopping = false;
    for (let i = 0; i < workers; i++) {
      const w = cluster.fork();
      w.once('listening', () => {
        pids.push(w.process.pid ?? 0);
        if (pids.length === workers) process.stdout.write(`http.ready ${pids.join(',')}\n`);
      });
      w.once('exit', (code, signal) => {
        if (stopping) return;
        process.stderr.write(`http worker ${w.process.pid} exited (${code ?? signal})\n`);
        process.exit(1);
      });
    }
    const stop = (): void => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      cluster.on('exit', () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      });
      setTimeout(() => process.exit(0), 3_000).unref();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  } else {
    process.on('SIGTERM', () => process.exit(0)); // a clean exit (lets a profiler write its profile)
    void serve(appModule, port);
  }
}

main();
