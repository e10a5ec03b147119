/**
 * ZAP (ZeroMQ RFC 27) authentication for the dispatcher's CURVE endpoint: libzmq asks the socket bound at
 * `inproc://zeromq.zap.01` in the same context about every CURVE handshake, passing the client's public key;
 * we accept only keys found as `*.pub` files in the authorized directory. The directory is read at each
 * handshake, so adding or removing a worker's key takes effect on its next connection, without a restart.
 * Without a ZAP handler libzmq would accept any client that knows the server's public key.
 * @module
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Reply } from 'zeromq';
import { z85Decode } from '../transport/curve-keys';

const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/** The decision on one handshake, for logs and metrics. */
export interface ZapDecision {
  readonly accepted: boolean;
  readonly address: string;
  readonly mechanism: string;
}

/** Public keys (raw 32 bytes, hex) of every `*.pub` file in `dir`; unreadable or invalid files are skipped. */
export async function authorizedKeys(dir: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.pub')) continue;
    const text = await readFile(path.join(dir, name), 'utf8').catch(() => '');
    const key = z85Decode(text.trim());
    if (key?.length === 32) keys.add(key.toString('hex'));
  }
  return keys;
}

/** The running ZAP handler. */
export class ZapHandler {
  readonly #socket = new Reply({ linger: 0 });
  readonly #dir: string;
  readonly #onDecision: (d: ZapDecision) => void;

  private constructor(dir: string, onDecision: (d: ZapDecision) => void) {
    this.#dir = dir;
    this.#onDecision = onDecision;
  }

  /** Bind the handler (before the CURVE socket binds) and start answering. */
  static async start(dir: string, onDecision: (d: ZapDecision) => void): Promise<ZapHandler> {
    await authorizedKeys(dir); // fail at startup, not at the first handshake, if the directory is unreadable
    const handler = new ZapHandler(dir, onDecision);
    await handler.#socket.bind(ZAP_ENDPOINT);
    void handler.#serve();
    return handler;
  }

  close(): void {
    this.#socket.close();
  }

  async #serve(): Promise<void> {
    for (;;) {
      let request: Buffer[];
      try {
        request = await this.#socket.receive();
      } catch {
        return; // closed
      }
      // version, request id, domain, address, identity, mechanism, credentials...
      const [version, requestId, , address, , mechanism, credentials] = request;
      let accepted = false;
      if (mechanism?.toString() === 'CURVE' && credentials?.length === 32) {
        const keys = await authorizedKeys(this.#dir).catch(() => new Set<string>());
        accepted = keys.has(credentials.toString('hex'));
      }
      this.#onDecision({ accepted, address: address?.toString() ?? '', mechanism: mechanism?.toString() ?? '' });
      try {
        await this.#socket.send([version ?? '1.0', requestId ?? '', accepted ? '200' : '400', accepted ? 'OK' : 'unknown key', '', '']);
      } catch {
        return;
      }
    }
  }
}
