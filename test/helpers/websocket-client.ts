/**
 * A minimal RFC 6455 client over node:net for integration tests (Node 20 has no WebSocket client): the HTTP
 * upgrade with a random Sec-WebSocket-Key, MASKED client frames (RFC 6455 §5.3: clients must mask), and a parser for the
 * server's unmasked frames that keeps each frame's raw header bytes for exact assertions. Written apart from
 * src/protocol on purpose, so the tests do not check the server's codec with itself.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One frame from the server. */
export interface ServerFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  /** The header bytes as received (first byte, length bytes). */
  readonly header: Buffer;
  readonly payload: Buffer;
}

/** The server's answer to the upgrade request. */
export interface UpgradeResponse {
  readonly status: number;
  /** The head exactly as received, up to and including the blank line. */
  readonly head: Buffer;
  /** Lowercase names; last value wins. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Options of {@link WebSocketClient.connect}. */
export interface ConnectOptions {
  /** Extra request headers. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  /** @default 5000 */
  readonly timeoutMs?: number;
  /** Sec-WebSocket-Key to send. @default 16 random bytes, base64 */
  readonly key?: string;
}

/** Options of {@link WebSocketClient.send}. */
export interface SendOptions {
  /** @default true */
  readonly fin?: boolean;
  /** RSV bits (0x70 mask of the first byte). @default 0 */
  readonly rsv?: number;
}

/** base64(SHA-1(key + GUID)), computed here independently of the server. */
export function expectedAccept(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** A client connection: the upgrade response, then frames. */
export class WebSocketClient {
  readonly socket: Socket;
  readonly key: string;
  #buffer = Buffer.alloc(0);
  #closed = false;
  #wake: (() => void) | undefined;
  #response: UpgradeResponse | undefined;
  #framesSent = 0;

  private constructor(socket: Socket, key: string) {
    this.socket = socket;
    this.key = key;
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

  /** Connect to 127.0.0.1:port, send the upgrade for `path`, and read the response head. */
  static async connect(port: number, path: string, options: ConnectOptions = {}): Promise<WebSocketClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    const client = new WebSocketClient(socket, options.key ?? randomBytes(16).toString('base64'));
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${client.key}`,
      'Sec-WebSocket-Version: 13',
      ...(options.headers ?? []).map(([n, v]) => `${n}: ${v}`),
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    try {
      await client.#readHead(options.timeoutMs ?? 5_000);
    } catch (err) {
      client.destroy();
      throw err;
    }
    return client;
  }

  /** The upgrade response (set once `connect` resolved). */
  get response(): UpgradeResponse {
    if (this.#response === undefined) throw new Error('no response yet');
    return this.#response;
  }

  /** True once the TCP connection is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Frames sent so far. */
  get framesSent(): number {
    return this.#framesSent;
  }

  /** Send one masked frame with a random key. */
  send(opcode: number, payload: Buffer | string, options: SendOptions = {}): void {
    this.#framesSent += 1;
    const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    const n = data.length;
    const first = ((options.fin ?? true) ? 0x80 : 0) | (options.rsv ?? 0) | opcode;
    let header: Buffer;
    if (n < 126) {
      header = Buffer.from([first, 0x80 | n]);
    } else if (n < 0x10000) {
      header = Buffer.from([first, 0x80 | 126, n >> 8, n & 0xff]);
    } else {
      header = Buffer.alloc(10);
      header[0] = first;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(n), 2);
    }
    const mask = randomBytes(4);
    const masked = Buffer.alloc(n);
    for (let i = 0; i < n; i++) masked[i] = (data[i] ?? 0) ^ (mask[i % 4] ?? 0);
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  /** The next server frame; rejects when the connection closes first or after `timeoutMs`. */
  nextFrame(timeoutMs = 5_000): Promise<ServerFrame> {
    return this.#until(() => this.#takeFrame(), timeoutMs, 'a frame');
  }

  /** Resolves once the server closed the TCP connection; rejects after `timeoutMs`. */
  waitClosed(timeoutMs = 5_000): Promise<void> {
    return this.#until(() => (this.#closed ? true : undefined), timeoutMs, 'the connection to close', true).then(() => undefined);
  }

  /** Everything received after the response head, once the connection closed (a refusal's body). */
  async readToClose(timeoutMs = 5_000): Promise<Buffer> {
    await this.waitClosed(timeoutMs);
    return this.#buffer;
  }

  destroy(): void {
    this.socket.destroy();
  }

  async #readHead(timeoutMs: number): Promise<void> {
    const end = await this.#until(() => {
      const i = this.#buffer.indexOf('\r\n\r\n');
      return i === -1 ? undefined : i + 4;
    }, timeoutMs, 'the upgrade response');
    const head = this.#buffer.subarray(0, end);
    this.#buffer = this.#buffer.subarray(end);
    const [statusLine = '', ...lines] = head.toString('latin1').slice(0, -4).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    this.#response = { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1] ?? 0), head: Buffer.from(head), headers };
  }

  #takeFrame(): ServerFrame | undefined {
    const b = this.#buffer;
    if (b.length < 2) return undefined;
    const b0 = b[0] ?? 0;
    const b1 = b[1] ?? 0;
    let len = b1 & 0x7f;
    let pos = 2;
    if (len === 126) {
      if (b.length < 4) return undefined;
      len = b.readUInt16BE(2);
      pos = 4;
    } else if (len === 127) {
      if (b.length < 10) return undefined;
      len = Number(b.readBigUInt64BE(2));
      pos = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    const keyAt = pos;
    if (masked) pos += 4;
    if (b.length < pos + len) return undefined;
    const payload = Buffer.from(b.subarray(pos, pos + len));
    if (masked) for (let i = 0; i < len; i++) payload[i] = (payload[i] ?? 0) ^ (b[keyAt + (i % 4)] ?? 0);
    const header = Buffer.from(b.subarray(0, keyAt));
    this.#buffer = b.subarray(pos + len);
    return { fin: (b0 & 0x80) !== 0, rsv: b0 & 0x70, opcode: b0 & 0x0f, masked, header, payload };
  }

  /** Resolve with the first defined `probe()` result, re-probing on every data/close event. */
  #until<T>(probe: () => T | undefined, timeoutMs: number, what: string, closeIsFine = false): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no ${what} within ${timeoutMs} ms (${this.#buffer.length} bytes buffered)`)), timeoutMs);
      const finish = (result: { value: T } | Error): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        if (result instanceof Error) reject(result);
        else resolve(result.value);
      };
      const check = (): void => {
        const value = probe();
        if (value !== undefined) return finish({ value });
        if (this.#closed && !closeIsFine) finish(new Error(`connection closed before ${what} (${this.#buffer.length} bytes buffered)`));
      };
      this.#wake = check;
      check();
    });
  }
}
