/**
 * Undoes `Transfer-Encoding: chunked` framing incrementally: the app frames a streamed body itself (it is written
 * for Mongrel2, which forwards bytes as they are), while node:http frames what it is given. Input may be split
 * anywhere; chunk extensions and trailers are skipped.
 * @module
 */
import { ErrorCode, M2PoolError } from '../errors';

const CRLF = Buffer.from('\r\n');

type State = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';

/** Decodes one chunked body; {@link push} returns the payload bytes found so far. */
export class ChunkDecoder {
  #state: State = 'size';
  #remaining = 0;
  #pending: Buffer = Buffer.alloc(0);

  /** True once the last chunk (and its trailer section) has been read. */
  get done(): boolean {
    return this.#state === 'done';
  }

  /** Feed framed bytes; returns the body bytes they complete (possibly none). Throws on malformed framing. */
  push(data: Buffer): Buffer[] {
    let buf = this.#pending.length === 0 ? data : Buffer.concat([this.#pending, data]);
    const out: Buffer[] = [];
    for (;;) {
      if (this.#state === 'done') {
        buf = buf.subarray(buf.length);
        break;
      }
      if (this.#state === 'data') {
        if (buf.length === 0) break;
        const take = Math.min(this.#remaining, buf.length);
        out.push(buf.subarray(0, take));
        buf = buf.subarray(take);
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = 'data-crlf';
        continue;
      }
      const eol = buf.indexOf(CRLF);
      if (eol < 0) break;
      const line = buf.toString('latin1', 0, eol);
      buf = buf.subarray(eol + 2);
      if (this.#state === 'data-crlf') {
        if (line !== '') throw invalid('chunk data not followed by CRLF');
        this.#state = 'size';
      } else if (this.#state === 'size') {
        const size = /^([0-9a-fA-F]{1,8})(?:;.*)?$/.exec(line)?.[1];
        if (size === undefined) throw invalid(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
        this.#remaining = parseInt(size, 16);
        this.#state = this.#remaining === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        this.#state = 'done'; // the empty line that ends the trailer section
      }
    }
    this.#pending = Buffer.from(buf);
    return out;
  }
}

function invalid(message: string): M2PoolError {
  return new M2PoolError(ErrorCode.RESPONSE_INVALID, `chunked response from the app: ${message}`);
}
