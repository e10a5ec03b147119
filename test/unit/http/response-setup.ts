/** Shared setup of the Response unit tests: a Response over a sink that records what it was given. */
import { ErrorCode, M2PoolError } from '../../../src/errors';
import type { HttpVersion } from '../../../src/http/request';
import { Response } from '../../../src/http/response';
import type { ReplySink } from '../../../src/http/sink';
import { withoutDateLine } from '../../helpers/http-date';

export type Event = { type: 'write'; data: string } | { type: 'close' };

/**
 * Records writes (as latin1 text) and closes in order. A response head's `Date` line is checked (exactly one, a
 * valid IMF-fixdate) and left out of `events`, so the rest can be compared byte for byte; `raw` keeps it.
 */
export class RecordingSink implements ReplySink {
  readonly events: Event[] = [];
  readonly raw: string[] = [];
  async write(data: Buffer): Promise<void> {
    const text = data.toString('latin1');
    this.raw.push(text);
    this.events.push({ type: 'write', data: withoutDateLine(text) });
  }
  async close(): Promise<void> {
    this.events.push({ type: 'close' });
  }
}

/** A Response for a request with the given method, version and close wish. */
export function setup(target: { method?: string; version?: HttpVersion; wantsClose?: boolean } = {}): { res: Response; sink: RecordingSink } {
  const sink = new RecordingSink();
  const res = new Response(sink, { method: target.method ?? 'GET', version: target.version ?? 'HTTP/1.1', wantsClose: target.wantsClose ?? false });
  return { res, sink };
}

/** Is `err` the RESPONSE_INVALID error? */
export function isInvalid(err: unknown): boolean {
  return err instanceof M2PoolError && err.code === ErrorCode.RESPONSE_INVALID;
}
