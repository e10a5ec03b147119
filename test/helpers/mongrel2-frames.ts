/**
 * Mongrel2 request messages built in code (tnetstring headers, as Mongrel2 1.12 sends them), for tests that
 * feed a worker without a real Mongrel2.
 */
import { encode } from '../../src/protocol/tnetstring';

/** The sender UUID the frames use unless told otherwise. */
export const TEST_SENDER = '53f9f1d1-1116-4751-b6ff-4fbe3e43d142';

/** What to put in one request message. */
export interface FrameInit {
  readonly connId: number;
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly sender?: string;
}

/** One Mongrel2 message: `SENDER CONN PATH HEADERS BODY`. */
export function mongrel2Frame(init: FrameInit): Buffer {
  const path = init.path ?? '/';
  const [pathOnly, query] = path.split('?', 2) as [string, string | undefined];
  const headers = encode({
    PATH: pathOnly,
    METHOD: init.method ?? 'GET',
    VERSION: 'HTTP/1.1',
    URI: path,
    PATTERN: '/',
    URL_SCHEME: 'http',
    REMOTE_ADDR: '127.0.0.1',
    host: 'test',
    ...(query === undefined ? {} : { QUERY: query }),
    ...init.headers,
  });
  const body = Buffer.from(init.body ?? '', 'utf8');
  return Buffer.concat([
    Buffer.from(`${init.sender ?? TEST_SENDER} ${init.connId} ${pathOnly} `, 'latin1'),
    headers,
    Buffer.from(`${body.length}:`, 'latin1'),
    body,
    Buffer.from(',', 'latin1'),
  ]);
}

/** Mongrel2's notice that client connection `connId` went away. */
export function disconnectNotice(connId: number, sender = TEST_SENDER): Buffer {
  return mongrel2Frame({ connId, sender, method: 'JSON', path: '@*', body: '{"type":"disconnect"}' });
}
