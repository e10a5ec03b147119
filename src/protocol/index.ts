/**
 * The Mongrel2 wire protocol: pure, Buffer-based codecs (no I/O). Spec: docs/mongrel2.md.
 * @module
 */

/** tnetstring codec, as a namespace (`tnetstring.decode`, `tnetstring.encode`, ...). */
export * as tnetstring from './tnetstring';
export type { TnetValue, TnetInput, DecodeOptions, TnetFrame } from './tnetstring';

/** Shared message types. */
export { MAX_REPLY_TARGETS } from './types';
export type { HeaderValue, RawHeaders, HeaderProtocol, RawMessage, Mongrel2Message, UploadInfo } from './types';

/** Mongrel2 → handler. */
export { parseMessage } from './request-parser';
export { classify, isInside, NOTICE_PATH, HEADER } from './classify';
export type { ClassifyOptions } from './classify';

/** Handler → Mongrel2. */
export {
  encodeReply,
  encodeClose,
  encodeExtended,
  encodeCtl,
  creditsMessage,
  cancelMessage,
  keepAliveMessage,
  parseReply,
  SENDER_RE,
} from './reply-writer';
export type { ParsedReply } from './reply-writer';

/** HTTP/1.x bytes. */
export { serializeResponseHead, serializeResponse, encodeChunk, LAST_CHUNK } from './http-response';
export type { ResponseHead, HeaderPair, SerializeOptions } from './http-response';
export { STATUS_TEXT, statusText } from './status-text';

/** WebSocket bytes. */
export { encodeFrame, encodeCloseFrame, websocketAccept, handshakeResponse, WS_OPCODE, WS_GUID, WS_CLOSE, parseClosePayload, decodeFrame, isToken } from './websocket';
export type { WsOpcode, FrameOptions, CloseFrameInfo, DecodedFrame } from './websocket';
