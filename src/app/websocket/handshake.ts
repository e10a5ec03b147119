/**
 * `dispatchHandshake`: a `WEBSOCKET_HANDSHAKE` message in, the 101 (or a refusal and a close) out. Mongrel2 does
 * not answer the upgrade itself; the handler sends the whole 101 with the accept value Mongrel2 computed (docs/mongrel2.md §3.3).
 * A handshake is an HTTP request: it ends in exactly one `DispatchResult`.
 * @module
 */

import { HttpError } from '../../http/http-error';
import { Response } from '../../http/response';
import { fixedHead, type ResponseHead } from '../../http/response-head';
import type { ReplySink } from '../../http/sink';
import { statusText } from '../../protocol/status-text';
import type { RawMessage } from '../../protocol/types';
import { handshakeResponse, isValidWebSocketKey } from '../../protocol/websocket';
import type { DispatchOutcome, DispatchResult } from '../handle-request';
import { invoke } from '../invoke';
import { errorReply, sendErrorReply, type ErrorReply } from '../respond';
import { selectProtocol } from './websocket';
import { WebSocketSession, type WebSocketConfig, type WebSocketEventOptions } from './session';

const EMPTY = Buffer.alloc(0);

/**
 * Answer one handshake: 101 when the route exists and its `open` accepts; otherwise an HTTP error and a close
 * (404 no WebSocket route — even where HTTP routes exist —, 426 wrong version, 403 `open` returned false, the
 * status of a thrown `HttpError`, 500 for other throws, 504 past the deadline). Never rejects.
 */
export async function dispatchHandshake(
  config: WebSocketConfig,
  msg: RawMessage,
  accept: string,
  sink: ReplySink,
  options: WebSocketEventOptions = {},
): Promise<DispatchResult> {
  const session = new WebSocketSession(config, msg, sink, options, false);
  const result = (outcome: DispatchOutcome, status: number): DispatchResult => ({
    outcome,
    status,
    route: session.route,
    method: session.req.method,
    bytesSent: session.counting.bytes,
    closed: session.counting.closed,
    durationMs: session.durationMs,
  });
  try {
    return await handshake(config, session, accept, options, result);
  } catch (err) {
    // Only a framework bug lands here; the handshake still gets an outcome.
    session.log.error({ err }, 'websocket handshake failed');
    const status = session.counting.bytes === 0 ? await refuse(session, { status: 500, message: statusText(500) }) : 0;
    return result('error', status);
  }
}

async function handshake(
  config: WebSocketConfig,
  session: WebSocketSession,
  accept: string,
  options: WebSocketEventOptions,
  result: (outcome: DispatchOutcome, status: number) => DispatchResult,
): Promise<DispatchResult> {
  const { match, req, log } = session;
  if (match.kind !== 'found') {
    const http = config.httpRouter.match('GET', req.path).kind !== 'not-found';
    log.debug({ path: req.path, httpRoutes: http }, http ? 'websocket handshake to a path with HTTP routes only' : 'no websocket route');
    return result('error', await refuse(session, { status: 404, message: statusText(404) }));
  }
  if (req.header('sec-websocket-version') !== '13') {
    // RFC 6455 §4.4: answer with the versions we speak.
    const err = new HttpError(426, 'unsupported Sec-WebSocket-Version', { headers: { 'Sec-WebSocket-Version': '13' } });
    return result('error', await refuse(session, errorReply(err, config.exposeErrors)));
  }
  if (!isValidWebSocketKey(req.raw.headers['sec-websocket-key'])) {
    // RFC 6455 §4.2.1: the key must be base64 of 16 bytes, or the server answers 400 and does not upgrade.
    return result('error', await refuse(session, { status: 400, message: 'invalid Sec-WebSocket-Key' }));
  }
  const entry = match.handler;
  const timeoutMs = entry.timeoutMs ?? config.requestTimeoutMs;
  const controller = new AbortController();
  const ctx = session.context(entry, match.params, controller.signal, Date.now() + timeoutMs);
  const open = entry.handler.open;
  const settled = await invoke(() => (open === undefined ? undefined : open.call(entry.handler, ctx)), controller, timeoutMs, options.signal);
  switch (settled.kind) {
    case 'aborted':
      session.shutHandler();
      return result('aborted', 0);
    case 'timeout':
      session.shutHandler();
      log.warn({ timeoutMs }, 'websocket open timed out');
      return result('timeout', await refuse(session, { status: 504, message: statusText(504) }));
    case 'error': {
      session.shutHandler();
      const reply = errorReply(settled.err, config.exposeErrors);
      if (reply.status >= 500) log.error({ err: settled.err }, 'websocket open failed');
      else log.debug({ status: reply.status, reason: settled.err instanceof Error ? settled.err.message : String(settled.err) }, 'websocket refused');
      return result('error', await refuse(session, reply));
    }
    case 'ok':
      break;
  }
  if (settled.value === false) {
    session.shutHandler();
    log.debug({ status: 403 }, 'websocket refused');
    return result('error', await refuse(session, { status: 403, message: statusText(403) }));
  }
  await session.counting.open(upgradeHead(accept, selectProtocol(entry, req)), EMPTY);
  // Frames `open` sent (and a close it asked for) follow the 101; later sends are dropped.
  session.shutHandler();
  session.writer.start();
  await session.writer.flush();
  return result('response', 101);
}

/** Send `reply` as an HTTP response with `Connection: close`, then close. Returns the status sent (0 if none). */
async function refuse(session: WebSocketSession, reply: ErrorReply): Promise<number> {
  const res = new Response(session.counting, { method: 'GET', version: session.req.version, wantsClose: true });
  try {
    await sendErrorReply(res, reply);
  } catch (err) {
    session.log.warn({ err }, 'could not send websocket refusal');
    await session.counting.close().catch(() => undefined);
  }
  return res.headersSent ? res.statusCode : 0;
}

/**
 * The 101 (RFC 6455 §4.2.2) as a response head: the same lines, in the same order, as the protocol codec's
 * `handshakeResponse` (which also checks `accept` and `protocol`; a head checks every name and value it is given).
 */
function upgradeHead(accept: string, protocol: string | undefined): ResponseHead {
  handshakeResponse(accept, protocol);
  const headers: Array<[string, string]> = [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', accept]];
  if (protocol !== undefined) headers.push(['Sec-WebSocket-Protocol', protocol]);
  return fixedHead(101, headers, 'none');
}
