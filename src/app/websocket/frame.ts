/**
 * `dispatchFrame`: one inbound WebSocket message (`METHOD=WEBSOCKET`, already unmasked and reassembled by
 * Mongrel2) in, the replies out. The protocol duties Mongrel2 leaves to handlers are done here, not in user code
 * (docs/mongrel2.md §3.3): pong for ping, the closing handshake, and failing the connection on what RFC 6455 forbids.
 * @module
 */

import { isUtf8 } from 'node:buffer';
import type { ReplySink } from '../../http/sink';
import type { RawMessage } from '../../protocol/types';
import { encodeFrame, parseClosePayload, WS_CLOSE, WS_OPCODE } from '../../protocol/websocket';
import { invoke, type Invocation } from '../invoke';
import { returnedFrame, type WebSocketContext, type WebSocketMessage, type WebSocketRoute } from './websocket';
import { WebSocketSession, type WebSocketConfig, type WebSocketEventOptions } from './session';

/** An inbound frame as the classifier reports it (`Mongrel2Message` of kind `websocket-frame`). */
export interface FrameEvent {
  readonly msg: RawMessage;
  /** The FLAGS header: FIN, RSV1-3 and the opcode of the (first) frame. */
  readonly flags: number;
  readonly opcode: number;
  readonly fin: boolean;
  readonly payload: Buffer;
}

/**
 * How a frame was handled. `message`: the handler ran and returned; `control`: ping or pong, answered by the
 * framework; `close`: the client's close frame, echoed; `protocol-error`: the framework failed the connection
 * (1002, 1007, 1009, or 1011 when no route matches); `error`: the handler threw (1011); `timeout`: the deadline
 * passed (1011); `aborted`: the signal fired first (nothing more sent).
 */
export type FrameOutcome = 'message' | 'control' | 'close' | 'protocol-error' | 'error' | 'timeout' | 'aborted';

/** What happened to one frame; every field is safe as a log field. */
export interface FrameResult {
  readonly outcome: FrameOutcome;
  /** The route label, or `(unmatched)`. */
  readonly route: string;
  readonly opcode: number;
  /** The close code sent to the client while handling this frame; 0 when the connection stays open. */
  readonly closeCode: number;
  readonly bytesSent: number;
  readonly durationMs: number;
}

const DATA_OPCODES: ReadonlySet<number> = new Set([WS_OPCODE.TEXT, WS_OPCODE.BINARY]);
const CONTROL_OPCODES: ReadonlySet<number> = new Set([WS_OPCODE.CLOSE, WS_OPCODE.PING, WS_OPCODE.PONG]);

/** Handle one frame. Never rejects. */
export async function dispatchFrame(config: WebSocketConfig, frame: FrameEvent, sink: ReplySink, options: WebSocketEventOptions = {}): Promise<FrameResult> {
  const session = new WebSocketSession(config, frame.msg, sink, options, true);
  let outcome: FrameOutcome;
  try {
    outcome = await handle(config, session, frame, options);
  } catch (err) {
    // Only a framework bug lands here; the connection cannot be trusted any more.
    session.log.error({ err }, 'websocket frame failed');
    session.shutHandler();
    session.fail(WS_CLOSE.INTERNAL_ERROR, 'internal error');
    outcome = 'error';
  }
  await session.writer.flush();
  return { outcome, route: session.route, opcode: frame.opcode, closeCode: session.closeCode, bytesSent: session.counting.bytes, durationMs: session.durationMs };
}

async function handle(config: WebSocketConfig, session: WebSocketSession, frame: FrameEvent, options: WebSocketEventOptions): Promise<FrameOutcome> {
  const { match, log } = session;
  if (match.kind !== 'found') {
    // The route existed at the handshake (maybe in another worker, or before a reload).
    log.warn({ path: frame.msg.path }, 'websocket frame for a path without websocket route');
    session.fail(WS_CLOSE.INTERNAL_ERROR, 'no websocket route');
    return 'protocol-error';
  }
  const entry = match.handler;
  const violation = checkFrame(frame, entry);
  if (violation !== undefined) {
    log.info({ closeCode: violation.code, why: violation.why, flags: frame.flags }, 'websocket protocol error');
    session.fail(violation.code, violation.why);
    return 'protocol-error';
  }
  const timeoutMs = entry.timeoutMs ?? config.requestTimeoutMs;
  const run: Runner = (call) => {
    const controller = new AbortController();
    const ctx = session.context(entry, match.params, controller.signal, Date.now() + timeoutMs);
    return invoke(() => call(ctx), controller, timeoutMs, options.signal);
  };
  switch (frame.opcode) {
    case WS_OPCODE.PING:
      session.writer.send(encodeFrame(WS_OPCODE.PONG, frame.payload));
      return 'control';
    case WS_OPCODE.PONG:
      return 'control';
    case WS_OPCODE.CLOSE:
      return closing(session, entry, frame.payload, run, timeoutMs);
    default:
      return message(session, entry, frame, run, timeoutMs);
  }
}

/** RFC 6455 rules Mongrel2 does not enforce (it checks masking, fragmented control frames and their length). */
function checkFrame(frame: FrameEvent, entry: WebSocketRoute): { code: number; why: string } | undefined {
  const { opcode, payload } = frame;
  // RFC 6455 §5.2: no extension was negotiated (Mongrel2 cannot), so every RSV bit must be 0.
  if ((frame.flags & 0x70) !== 0) return { code: WS_CLOSE.PROTOCOL_ERROR, why: 'reserved bits set' };
  if (opcode === WS_OPCODE.CONTINUATION) return { code: WS_CLOSE.PROTOCOL_ERROR, why: 'unexpected continuation frame' };
  if (!DATA_OPCODES.has(opcode) && !CONTROL_OPCODES.has(opcode)) return { code: WS_CLOSE.PROTOCOL_ERROR, why: `unknown opcode ${opcode}` };
  if (CONTROL_OPCODES.has(opcode) && payload.length > 125) return { code: WS_CLOSE.PROTOCOL_ERROR, why: 'control frame over 125 bytes' };
  if (DATA_OPCODES.has(opcode) && payload.length > entry.maxMessageBytes) return { code: WS_CLOSE.MESSAGE_TOO_BIG, why: 'message too big' };
  if (opcode === WS_OPCODE.TEXT && !isUtf8(payload)) return { code: WS_CLOSE.INVALID_PAYLOAD, why: 'invalid UTF-8' };
  return undefined;
}

async function message(session: WebSocketSession, entry: WebSocketRoute, frame: FrameEvent, run: Runner, timeoutMs: number): Promise<FrameOutcome> {
  const msg: WebSocketMessage =
    frame.opcode === WS_OPCODE.TEXT
      ? { opcode: WS_OPCODE.TEXT, text: frame.payload.toString('utf8'), data: frame.payload, fin: frame.fin }
      : { opcode: WS_OPCODE.BINARY, text: undefined, data: frame.payload, fin: frame.fin };
  // The returned value is encoded inside the invocation, so an unserialisable one counts as the handler's error.
  const settled = await run(async (ctx) => returnedFrame(await entry.handler.message(ctx, msg)));
  session.shutHandler();
  switch (settled.kind) {
    case 'ok':
      if (settled.value instanceof Buffer) session.writer.send(settled.value);
      return 'message';
    case 'error':
      session.log.error({ err: settled.err }, 'websocket message handler failed');
      session.fail(WS_CLOSE.INTERNAL_ERROR, 'internal error');
      return 'error';
    case 'timeout':
      session.log.warn({ timeoutMs }, 'websocket message handler timed out');
      session.fail(WS_CLOSE.INTERNAL_ERROR, 'handler timed out');
      return 'timeout';
    case 'aborted':
      return 'aborted';
  }
}

/** The client's close frame: validate, tell the handler, echo the code, close (echo.py's sequence, docs/mongrel2.md §3.3). */
async function closing(session: WebSocketSession, entry: WebSocketRoute, payload: Buffer, run: Runner, timeoutMs: number): Promise<FrameOutcome> {
  const info = parseClosePayload(payload);
  if (!info.ok) {
    session.log.info({ closeCode: info.failWith, why: info.why }, 'websocket protocol error');
    session.fail(info.failWith, info.why);
    return 'protocol-error';
  }
  const hook = entry.handler.close;
  if (hook !== undefined) {
    const settled = await run((ctx) => hook.call(entry.handler, ctx, { code: info.code ?? WS_CLOSE.NO_STATUS, reason: info.reason }));
    session.shutHandler();
    if (settled.kind === 'aborted') return 'aborted';
    if (settled.kind === 'error') session.log.error({ err: settled.err }, 'websocket close handler failed');
    if (settled.kind === 'timeout') session.log.warn({ timeoutMs }, 'websocket close handler timed out');
  }
  session.echoClose(info.code);
  return 'close';
}

/** Runs one handler call with a fresh context under the route's deadline. */
type Runner = (call: (ctx: WebSocketContext) => unknown) => Promise<Invocation<unknown>>;
