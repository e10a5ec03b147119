/**
 * In-process WebSocket testing (the counterpart of `app.request()`): build the messages Mongrel2 would send for a
 * handshake or a frame, collect what the app writes, and decode the server frames. No ZeroMQ involved.
 * @module
 */

import type { Logger } from 'pino';
import type { ReplySink } from '../../http/sink';
import type { RawMessage } from '../../protocol/types';
import { decodeFrame, parseClosePayload, websocketAccept, WS_OPCODE } from '../../protocol/websocket';
import type { DispatchResult } from '../handle-request';
import { buildRawMessage } from './testing';
import { CollectingSink, RecordingOutlet } from './recording-outlet';
import type { FrameEvent, FrameResult } from '../websocket/frame';
import type { WebSocketEventOptions } from '../websocket/session';

/** The fake client of `app.websocketHandshake()` / `app.websocketMessage()`. */
export interface TestWebSocketInit {
  /** Extra client headers; the upgrade headers Mongrel2 requires are added unless given here. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** Offered subprotocols, sent as `Sec-WebSocket-Protocol`. */
  readonly protocols?: readonly string[];
  /** The client's Sec-WebSocket-Key. @default the RFC 6455 sample key */
  readonly key?: string;
  /** Connection id. @default a fresh one per call */
  readonly connId?: number;
  /** Passed to dispatch: fire it to simulate a client disconnect or a worker stop. */
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
}

/** A message to deliver: a string (TEXT), bytes (BINARY), or any opcode with raw FLAGS for protocol tests. */
export type TestWebSocketMessage = string | Uint8Array | { readonly opcode: number; readonly payload?: string | Uint8Array; readonly flags?: number };

/** One server frame as a client would decode it. */
export interface TestFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
  /** For close frames: the code (undefined when the payload is empty). */
  readonly closeCode: number | undefined;
  /** The payload as UTF-8 (for close frames: the reason). */
  text(): string;
}

/** What `app.websocketHandshake()` saw. */
export interface TestHandshake {
  /** 101 when accepted; 0 when nothing was written. */
  readonly status: number;
  /** Response headers, lowercase names. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  /** Body of a refusal. */
  readonly body: Buffer;
  /** Frames that followed the 101 (what `open` sent). */
  readonly frames: readonly TestFrame[];
  readonly closed: boolean;
  readonly sink: CollectingSink;
  readonly result: DispatchResult;
}

/** What `app.websocketMessage()` saw. */
export interface TestFrames {
  readonly frames: readonly TestFrame[];
  /** Whether the app sent Mongrel2's close message. */
  readonly closed: boolean;
  /** One entry per Mongrel2 message written (frames sent in one event-loop turn share one). */
  readonly sink: CollectingSink;
  readonly result: FrameResult;
}

const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** The message Mongrel2 sends for a handshake (`accept` given) or for a frame (`frame` given). */
export function buildWebSocketMessage(path: string, init: TestWebSocketInit, event: { readonly accept: string } | { readonly flags: number; readonly payload: Buffer }): RawMessage {
  const headers: Record<string, string | readonly string[]> = {
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': init.key ?? SAMPLE_KEY,
    'sec-websocket-version': '13',
    ...(init.protocols === undefined ? {} : { 'sec-websocket-protocol': init.protocols.join(', ') }),
  };
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
  const isHandshake = 'accept' in event;
  const raw = buildRawMessage(path, { method: isHandshake ? 'WEBSOCKET_HANDSHAKE' : 'WEBSOCKET', headers, ...(init.logger === undefined ? {} : { logger: init.logger }) });
  // Mongrel2 adds FLAGS to frames and never a content-length (the body is the accept value or the payload).
  const { 'content-length': _omit, ...rest } = raw.headers;
  return {
    ...raw,
    connId: init.connId ?? raw.connId,
    headers: isHandshake ? rest : { ...rest, FLAGS: `0x${event.flags.toString(16).toUpperCase()}` },
    body: isHandshake ? Buffer.from(event.accept, 'latin1') : event.payload,
  };
}

/** Dispatch a handshake in process and read the reply (the 101 or refusal as the app made it, then the frames). */
export async function testHandshake(
  dispatch: (msg: RawMessage, accept: string, sink: ReplySink, options: WebSocketEventOptions) => Promise<DispatchResult>,
  path: string,
  init: TestWebSocketInit = {},
): Promise<TestHandshake> {
  const accept = websocketAccept(init.key ?? SAMPLE_KEY);
  const msg = buildWebSocketMessage(path, init, { accept });
  const outlet = new RecordingOutlet();
  const result = await dispatch(msg, accept, outlet, eventOptions(init));
  const upgraded = outlet.status === 101;
  const body = upgraded ? Buffer.alloc(0) : outlet.body();
  return { status: outlet.status, headers: outlet.headers, body, frames: upgraded ? parseFrames(outlet.raw()) : [], closed: outlet.closed, sink: outlet.sink, result };
}

/** Dispatch one inbound message in process and decode the frames written back. */
export async function testFrame(
  dispatch: (frame: FrameEvent, sink: ReplySink, options: WebSocketEventOptions) => Promise<FrameResult>,
  path: string,
  message: TestWebSocketMessage,
  init: TestWebSocketInit = {},
): Promise<TestFrames> {
  const { opcode, payload, flags } = toFrameParts(message);
  const msg = buildWebSocketMessage(path, init, { flags, payload });
  const sink = new CollectingSink();
  const result = await dispatch({ msg, flags, opcode, fin: (flags & 0x80) !== 0, payload }, sink, eventOptions(init));
  return { frames: parseFrames(sink.bytes()), closed: sink.closed, sink, result };
}

/** Decode consecutive server frames. Throws on trailing bytes that do not form a whole frame. */
export function parseFrames(bytes: Buffer): TestFrame[] {
  const frames: TestFrame[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const frame = decodeFrame(bytes, offset);
    if (frame === undefined) throw new Error(`incomplete frame at byte ${offset} of ${bytes.length}`);
    offset += frame.size;
    const close = frame.opcode === WS_OPCODE.CLOSE ? parseClosePayload(frame.payload) : undefined;
    const closeCode = close?.ok === true ? close.code : undefined;
    const text = close?.ok === true ? close.reason : frame.payload.toString('utf8');
    frames.push({ fin: frame.fin, opcode: frame.opcode, payload: frame.payload, closeCode, text: () => text });
  }
  return frames;
}

function toFrameParts(message: TestWebSocketMessage): { opcode: number; payload: Buffer; flags: number } {
  if (typeof message === 'string') return { opcode: WS_OPCODE.TEXT, payload: Buffer.from(message, 'utf8'), flags: 0x80 | WS_OPCODE.TEXT };
  if (message instanceof Uint8Array) return { opcode: WS_OPCODE.BINARY, payload: Buffer.from(message), flags: 0x80 | WS_OPCODE.BINARY };
  const payload = message.payload === undefined ? Buffer.alloc(0) : typeof message.payload === 'string' ? Buffer.from(message.payload, 'utf8') : Buffer.from(message.payload);
  const flags = message.flags ?? 0x80 | message.opcode;
  return { opcode: flags & 0x0f, payload, flags };
}

function eventOptions(init: TestWebSocketInit): WebSocketEventOptions {
  return { ...(init.signal === undefined ? {} : { signal: init.signal }), ...(init.logger === undefined ? {} : { logger: init.logger }) };
}
