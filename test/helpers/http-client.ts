/**
 * A raw HTTP/1.x client over a TCP socket, for requests fetch() cannot make (tabs and latin1 bytes in
 * headers, HTTP/1.0, repeated headers, pipelining) and to see whether the server closed the connection.
 */
import { connect, type Socket } from 'node:net';

/** A parsed response. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string[]>;
  readonly body: Buffer;
  /** First header value, lowercase name. */
  header(name: string): string | undefined;
}

/** Options of {@link buildRequest}. */
export interface RequestSpec {
  readonly method?: string;
  readonly path: string;
  /** Header lines as [name, value] pairs; values are written as latin1 bytes (or Buffers as-is). */
  readonly headers?: ReadonlyArray<readonly [string, string | Buffer]>;
  readonly body?: Buffer | string;
  /** @default 'HTTP/1.1' */
  readonly version?: string;
}

/** Serialise a request (adds Host and Content-Length when a body is given and none is set). */
export function buildRequest(spec: RequestSpec): Buffer {
  const body = typeof spec.body === 'string' ? Buffer.from(spec.body) : spec.body;
  const headers = [...(spec.headers ?? [])];
  if (!headers.some(([n]) => n.toLowerCase() === 'host')) headers.unshift(['Host', 'localhost']);
  if (body !== undefined && !headers.some(([n]) => n.toLowerCase() === 'content-length')) headers.push(['Content-Length', String(body.length)]);
  const parts: Buffer[] = [Buffer.from(`${spec.method ?? 'GET'} ${spec.path} ${spec.version ?? 'HTTP/1.1'}\r\n`, 'latin1')];
  for (const [name, value] of headers) parts.push(Buffer.from(`${name}: `, 'latin1'), typeof value === 'string' ? Buffer.from(value, 'latin1') : value, Buffer.from('\r\n'));
  parts.push(Buffer.from('\r\n'));
  if (body !== undefined) parts.push(body);
  return Buffer.concat(parts);
}

/** A keep-alive connection that reads responses one after another. */
export class HttpConnection {
  readonly socket: Socket;
  #buffer = Buffer.alloc(0);
  #closed = false;
  #wake: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, d]);
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
    socket.on('error', () => undefined);
  }

  /** Open a connection to 127.0.0.1:port. */
  static open(port: number): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new HttpConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** True once the server closed the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves true when the server closes the connection within `timeoutMs`. */
  async waitClosed(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed && Date.now() < deadline) await this.#next(deadline - Date.now());
    return this.#closed;
  }

  /** Read one complete response (`head: true` for a response to HEAD: no body). */
  async read(options: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      const parsed = parseResponse(this.#buffer, options.head === true, this.#closed);
      if (parsed !== undefined) {
        this.#buffer = this.#buffer.subarray(parsed.consumed);
        return parsed.response;
      }
      if (this.#closed) throw new Error(`connection closed before a complete response (${this.#buffer.length} bytes buffered)`);
      if (Date.now() >= deadline) throw new Error(`no complete response within ${options.timeoutMs ?? 10_000} ms`);
      await this.#next(deadline - Date.now());
    }
  }

  close(): void {
    this.socket.destroy();
  }

  #next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(1, ms));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}

function parseResponse(buf: Buffer, head: boolean, closed: boolean): { response: RawResponse; consumed: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number((lines[0] ?? '').split(' ')[1]);
  const headers: Record<string, string[]> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    (headers[name] ??= []).push(line.slice(i + 1).trim());
  }
  const start = end + 4;
  const make = (body: Buffer, consumed: number) => ({
    response: { status, headers, body, header: (n: string) => headers[n.toLowerCase()]?.[0] },
    consumed,
  });
  if (head || status === 204 || status === 304 || (status >= 100 && status < 200)) return make(Buffer.alloc(0), start);
  const length = headers['content-length']?.[0];
  if (length !== undefined) {
    const n = Number(length);
    return buf.length >= start + n ? make(buf.subarray(start, start + n), start + n) : undefined;
  }
  if ((headers['transfer-encoding']?.[0] ?? '').toLowerCase() === 'chunked') {
    const chunks: Buffer[] = [];
    let pos = start;
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16);
      if (buf.length < lineEnd + 2 + size + 2) return undefined;
      if (size === 0) return make(Buffer.concat(chunks), lineEnd + 4);
      chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      pos = lineEnd + 2 + size + 2;
    }
  }
  return closed ? make(buf.subarray(start), buf.length) : undefined;
}

/**
 * One request on a fresh connection. With `awaitClose`, also waits (up to 5 s) for the server to close the
 * connection and reports whether it did.
 */
export async function rawRequest(port: number, spec: RequestSpec, options: { timeoutMs?: number; awaitClose?: boolean } = {}): Promise<RawResponse & { closedAfter: boolean }> {
  const conn = await HttpConnection.open(port);
  try {
    conn.send(buildRequest(spec));
    const response = await conn.read({ head: spec.method === 'HEAD', ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
    const closedAfter = options.awaitClose === true ? await conn.waitClosed(5_000) : conn.closed;
    return { ...response, closedAfter };
  } finally {
    conn.close();
  }
}

/**
 * `connections` fresh connections at once, each sending its `paths(c)` pipelined in one write (Mongrel2 parses
 * them back to back) and reading as many responses in turn. Resolves with each connection's bodies in the order
 * they arrived.
 */
export function pipelinedBodies(port: number, connections: number, paths: (c: number) => readonly string[]): Promise<string[][]> {
  return Promise.all(
    Array.from({ length: connections }, async (_, c) => {
      const conn = await HttpConnection.open(port);
      try {
        const list = paths(c);
        conn.send(Buffer.concat(list.map((path) => buildRequest({ path }))));
        const bodies: string[] = [];
        for (let i = 0; i < list.length; i += 1) bodies.push((await conn.read({ timeoutMs: 10_000 })).body.toString());
        return bodies;
      } finally {
        conn.close();
      }
    }),
  );
}
