/**
 * A client of Mongrel2's control port (docs/mongrel2.md §6.5, §6.6): a ZeroMQ REP socket taking one tnetstring
 * `[command, {args}]` per request. Used by the dispatcher after its predecessor crashed, to list the open
 * connections (`status what=net`) and close the ones whose requests died with it (`kill id=N`). One REQ socket per
 * call: a REQ whose answer never came cannot send again, and these calls are rare.
 * @module
 */
import { Request } from 'zeromq';
import { decodeAll, encode, type TnetValue } from '../protocol/tnetstring';

/** One row of `status what=net`: a client connection as Mongrel2's registry sees it. */
export interface Mongrel2ConnectionRow {
  /** Connection id (the CONN_ID of its requests); -1 until a request of it went to a handler. */
  readonly id: number;
  readonly fd: number;
  /** 0 not yet identified, 1 HTTP, 2 JSON/XML message socket, 3 WebSocket (or XML policy). */
  readonly type: number;
  /** Seconds since the last ping / read / write, at the resolution of `limits.tick_timer` (0 = never). */
  readonly lastPing: number;
  readonly lastRead: number;
  readonly lastWrite: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

/** Mongrel2's connection types (`conn->type`). */
export const Mongrel2ConnectionType = { UNKNOWN: 0, HTTP: 1, MSG: 2, SOCKET: 3 } as const;

const COLUMNS = ['id', 'fd', 'type', 'last_ping', 'last_read', 'last_write', 'bytes_read', 'bytes_written'] as const;

function num(v: TnetValue | undefined): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number.NaN;
}

/** Parse the table `status what=net` answers; throws on anything else. */
export function parseNetStatus(reply: Buffer): Mongrel2ConnectionRow[] {
  const doc = decodeAll(reply);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || Buffer.isBuffer(doc)) throw new Error('control port: not a table');
  const headers = (doc as Record<string, TnetValue>)['headers'];
  const rows = (doc as Record<string, TnetValue>)['rows'];
  if (!Array.isArray(headers) || !Array.isArray(rows)) throw new Error(`control port: no table in ${reply.toString('latin1').slice(0, 200)}`);
  const names = headers.map((h) => (Buffer.isBuffer(h) ? h.toString('latin1') : ''));
  const at = COLUMNS.map((c) => names.indexOf(c));
  if (at.some((i) => i < 0)) throw new Error(`control port: unexpected columns ${names.join(',')}`);
  return rows.filter(Array.isArray).map((row) => {
    const [id, fd, type, lastPing, lastRead, lastWrite, bytesRead, bytesWritten] = at.map((i) => num((row as TnetValue[])[i]));
    return { id: id as number, fd: fd as number, type: type as number, lastPing: lastPing as number, lastRead: lastRead as number, lastWrite: lastWrite as number, bytesRead: bytesRead as number, bytesWritten: bytesWritten as number };
  });
}

/** Calls to one Mongrel2 control port. */
export class Mongrel2Control {
  constructor(
    readonly endpoint: string,
    /** How long one call may take. */
    readonly timeoutMs: number,
  ) {}

  /** `status what=net`: every open client connection. */
  async connections(): Promise<Mongrel2ConnectionRow[]> {
    return parseNetStatus(await this.call('status', { what: 'net' }));
  }

  /** `kill id=N`: close connection N. Resolves with Mongrel2's answer (an error text for an unknown id). */
  async kill(id: number): Promise<string> {
    return (await this.call('kill', { id })).toString('latin1');
  }

  /** One request, one reply, on a fresh REQ socket. */
  async call(command: string, args: Record<string, string | number>): Promise<Buffer> {
    const req = new Request({ linger: 0, sendTimeout: this.timeoutMs, receiveTimeout: this.timeoutMs });
    try {
      req.connect(this.endpoint);
      await req.send(encode([command, args]));
      const [reply] = await req.receive();
      if (reply === undefined) throw new Error(`control port ${this.endpoint}: empty reply`);
      return reply;
    } finally {
      req.close();
    }
  }
}
