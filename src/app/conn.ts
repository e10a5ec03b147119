/**
 * `Conn`: the identity of one client connection anywhere in a pool — the Mongrel2 handler's UUID (the SENDER of
 * every message about it, docs/mongrel2.md §2.1, §5.1) and Mongrel2's connection id (a 32-bit counter per Mongrel2
 * process, never reused while it runs). Its string form `UUID:ID` is stable, so an app can store it (a database,
 * Redis) and push to that connection later from any worker or host.
 * @module
 */
import { ErrorCode, M2PoolError, quote } from '../errors';
import { SENDER_RE } from '../protocol/reply-writer';

const MAX_CONN_ID = 0xffffffff;
const FORM_RE = /^([A-Za-z0-9-]+):(\d{1,10})$/;

/**
 * One client connection: `server` is the UUID Mongrel2 puts in front of every message of it (the Handler's
 * `send_ident`), `id` its connection id.
 * @example
 * const conn = ctx.conn;              // in any handler
 * await redis.set('user:42', String(conn)); // '6a3f9c3e-…:17'
 * app.push.websocket(Conn.parse(await redis.get('user:42')), 'hello'); // later, from any worker
 */
export class Conn {
  readonly server: string;
  readonly id: number;

  /** @throws M2PoolError CONN_INVALID for a UUID outside `[A-Za-z0-9-]+` or an id outside 0 … 2^32-1. */
  constructor(server: string, id: number) {
    if (typeof server !== 'string' || !SENDER_RE.test(server)) throw invalid(`connection server ${quote(String(server))} must match ${SENDER_RE.source}`);
    if (!Number.isInteger(id) || id < 0 || id > MAX_CONN_ID) throw invalid(`connection id ${quote(String(id))} must be an integer 0..2^32-1`);
    this.server = server;
    this.id = id;
  }

  /**
   * Parse the string form (`UUID:ID`, what `String(conn)` gives).
   * @throws M2PoolError CONN_INVALID for anything else.
   */
  static parse(text: string): Conn {
    const m = typeof text === 'string' ? FORM_RE.exec(text) : null;
    if (m === null) throw invalid(`not a connection ${quote(String(text))}: expected UUID:ID`);
    return new Conn(m[1] as string, Number(m[2]));
  }

  /** A `Conn`, from itself or its string form. */
  static from(value: ConnLike): Conn {
    return value instanceof Conn ? value : Conn.parse(value);
  }

  /** `UUID:ID`. */
  toString(): string {
    return `${this.server}:${this.id}`;
  }

  /** JSON carries the string form, so a stored value parses back with {@link Conn.parse}. */
  toJSON(): string {
    return this.toString();
  }

  /** Same server and id. */
  equals(other: ConnLike): boolean {
    const o = Conn.from(other);
    return o.server === this.server && o.id === this.id;
  }
}

/** A connection or its string form: what every push API accepts. */
export type ConnLike = Conn | string;

/** The connection a message belongs to. */
export function connOf(msg: { readonly sender: string; readonly connId: number }): Conn {
  return new Conn(msg.sender, msg.connId);
}

function invalid(message: string): M2PoolError {
  return new M2PoolError(ErrorCode.CONN_INVALID, message);
}
