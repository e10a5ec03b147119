/**
 * Expected results for the captured request vectors (test/fixtures/vectors, docs/mongrel2.md §8.1).
 * Not a test file; used by vectors.test.ts.
 * @module
 */
import type { HeaderProtocol, Mongrel2Message, RawHeaders } from '../../../src/protocol/types';
import { WS_OPCODE } from '../../../src/protocol/websocket';
import { SENDER_JSON, SENDER_SRV2, SENDER_TNET } from './vector-fixtures';

/** What parsing and classifying one captured request must give. */
export interface RequestExpectation {
  readonly sender: string;
  readonly connId: number;
  readonly path: string;
  readonly protocol: HeaderProtocol;
  /** Exact header object. */
  readonly headers: RawHeaders;
  readonly body: string;
  readonly kind: Mongrel2Message['kind'];
  /** Extra fields of the classified message. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

const DISCONNECT_JSON = { METHOD: 'JSON' };
const tnetBase = (method: string, pattern: string, uri: string, p: string): Record<string, string> => ({
  REMOTE_ADDR: '127.0.0.1',
  METHOD: method,
  URL_SCHEME: 'http',
  PATTERN: pattern,
  URI: uri,
  VERSION: 'HTTP/1.1',
  PATH: p,
});
const wsHeaders = (method: string): Record<string, string> => ({
  ...tnetBase(method, '/ws', '/ws', '/ws'),
  upgrade: 'websocket',
  host: 'localhost',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-version': '13',
  connection: 'Upgrade',
});

/** The 12000-byte upload.stream body: `00000|00001|…|01999|`. */
export const STREAM_BODY = Array.from({ length: 2000 }, (_, i) => `${String(i).padStart(5, '0')}|`).join('');
const streamChunk = (offset: number, length: number): string => STREAM_BODY.slice(offset, offset + length);
const streamContinuation = (connOffset: number, done = false): RequestExpectation => ({
  sender: SENDER_SRV2,
  connId: 5,
  path: '/up',
  protocol: 'tnetstring',
  headers: done ? { UPLOAD_STREAM_DONE: '1', UPLOAD_STREAM: String(connOffset) } : { UPLOAD_STREAM: String(connOffset) },
  body: streamChunk(connOffset, done ? 25 : 2000),
  kind: 'upload-stream',
  extra: { offset: connOffset, done },
});
const disconnect = (sender: string, connId: number, protocol: HeaderProtocol): RequestExpectation => ({
  sender,
  connId,
  path: '@*',
  protocol,
  headers: DISCONNECT_JSON,
  body: '{"type":"disconnect"}',
  kind: 'disconnect',
});

/** Expected parse + classify result (with uploadDir `/tmp`) of every captured request vector. */
export const REQUESTS: Readonly<Record<string, RequestExpectation>> = {
  '01-json-req.bin': {
    sender: SENDER_JSON,
    connId: 36,
    path: '/handler/sub/path',
    protocol: 'json',
    headers: {
      PATH: '/handler/sub/path',
      'x-dup': ['a', 'b'],
      'x-forwarded-for': '127.0.0.1',
      accept: '*/*',
      host: 'localhost',
      METHOD: 'GET',
      VERSION: 'HTTP/1.1',
      URI: '/handler/sub/path?x=1&y=two',
      QUERY: 'x=1&y=two',
      PATTERN: '/handler',
      URL_SCHEME: 'http',
      REMOTE_ADDR: '127.0.0.1',
    },
    body: '',
    kind: 'request',
  },
  '03-json-req-special.bin': disconnect(SENDER_JSON, 36, 'json'),
  '04-tnet-req.bin': {
    sender: SENDER_TNET,
    connId: 37,
    path: '/tnet/p',
    protocol: 'tnetstring',
    headers: {
      ...tnetBase('POST', '/tnet', '/tnet/p?q=1', '/tnet/p'),
      QUERY: 'q=1',
      host: 'localhost',
      'content-length': '14',
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': '127.0.0.1',
    },
    body: 'name=value&x=1',
    kind: 'request',
  },
  '06-tnet-req-special.bin': disconnect(SENDER_TNET, 37, 'tnetstring'),
  '07-json-req.bin': {
    sender: SENDER_JSON,
    connId: 38,
    path: '/handler/p',
    protocol: 'json',
    headers: {
      PATH: '/handler/p',
      'x-forwarded-for': '127.0.0.1',
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': '14',
      host: 'localhost',
      METHOD: 'POST',
      VERSION: 'HTTP/1.1',
      URI: '/handler/p?q=1',
      QUERY: 'q=1',
      PATTERN: '/handler',
      URL_SCHEME: 'http',
      REMOTE_ADDR: '127.0.0.1',
    },
    body: 'name=value&x=1',
    kind: 'request',
  },
  '09-json-req-special.bin': disconnect(SENDER_JSON, 38, 'json'),
  '10-tnet-req.bin': {
    sender: SENDER_TNET,
    connId: 39,
    path: '/tnet/close',
    protocol: 'tnetstring',
    headers: {
      ...tnetBase('GET', '/tnet', '/tnet/close', '/tnet/close'),
      VERSION: 'HTTP/1.0',
      host: 'localhost',
      'x-forwarded-for': '127.0.0.1',
    },
    body: '',
    kind: 'request',
  },
  '13-tnet-req.bin': {
    sender: SENDER_TNET,
    connId: 40,
    path: '/tnet/upload',
    protocol: 'tnetstring',
    headers: {
      ...tnetBase('PUT', '/tnet', '/tnet/upload', '/tnet/upload'),
      'x-mongrel2-upload-start': '/tmp/upload.TMmNoa',
      host: 'localhost',
      'content-length': '2000',
      'x-forwarded-for': '127.0.0.1',
    },
    body: '',
    kind: 'upload-start',
    extra: { file: '/tmp/upload.TMmNoa' },
  },
  '14-tnet-req-special.bin': disconnect(SENDER_TNET, 40, 'tnetstring'),
  '15-tnet-req.bin': {
    sender: SENDER_TNET,
    connId: 41,
    path: '/ws',
    protocol: 'tnetstring',
    headers: { ...wsHeaders('WEBSOCKET_HANDSHAKE'), 'x-forwarded-for': '127.0.0.1' },
    body: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
    kind: 'websocket-handshake',
    extra: { accept: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' },
  },
  '17-tnet-req.bin': {
    sender: SENDER_TNET,
    connId: 41,
    path: '/ws',
    protocol: 'tnetstring',
    headers: { ...wsHeaders('WEBSOCKET'), FLAGS: '0x81', 'x-forwarded-for': '127.0.0.1' },
    body: 'Hello',
    kind: 'websocket-frame',
    extra: { flags: 0x81, opcode: WS_OPCODE.TEXT, fin: true, payload: Buffer.from('Hello') },
  },
  '19-tnet-req-special.bin': disconnect(SENDER_TNET, 41, 'tnetstring'),
  '20-json-req.bin': {
    sender: SENDER_JSON,
    connId: 42,
    path: '@chat',
    protocol: 'json',
    headers: {
      PATH: '@chat',
      'x-forwarded-for': '127.0.0.1',
      METHOD: 'JSON',
      PATTERN: '@chat',
      URL_SCHEME: 'http',
      REMOTE_ADDR: '127.0.0.1',
    },
    body: '{"type":"join"}',
    kind: 'socket-message',
    extra: { method: 'JSON', data: '{"type":"join"}' },
  },
  '22-json-req-special.bin': disconnect(SENDER_JSON, 42, 'json'),
  '23-tnet-req.bin': {
    sender: SENDER_TNET,
    connId: 1,
    path: '/tnet/upload2',
    protocol: 'tnetstring',
    headers: {
      ...tnetBase('PUT', '/tnet', '/tnet/upload2', '/tnet/upload2'),
      'x-mongrel2-upload-start': '/tmp/upload.6QSMrV',
      host: 'localhost',
      'content-length': '6000',
      'x-forwarded-for': '127.0.0.1',
    },
    body: '',
    kind: 'upload-start',
    extra: { file: '/tmp/upload.6QSMrV' },
  },
  '24-tnet-req.bin': {
    sender: SENDER_TNET,
    connId: 1,
    path: '/tnet/upload2',
    protocol: 'tnetstring',
    headers: {
      ...tnetBase('PUT', '/tnet', '/tnet/upload2', '/tnet/upload2'),
      'x-mongrel2-upload-start': '/tmp/upload.6QSMrV',
      host: 'localhost',
      'content-length': '6000',
      'x-mongrel2-upload-done': '/tmp/upload.6QSMrV',
      'x-forwarded-for': '127.0.0.1',
    },
    body: '',
    kind: 'request',
    extra: { upload: { file: '/tmp/upload.6QSMrV' } },
  },
  '26-tnet-req-special.bin': disconnect(SENDER_TNET, 1, 'tnetstring'),
  'srv2-credits_notice.bin': {
    sender: SENDER_SRV2,
    connId: 3,
    path: '@*',
    protocol: 'tnetstring',
    headers: { DOWNLOAD_CREDITS: '40', METHOD: 'JSON' },
    body: '{"type":"credits"}',
    kind: 'credits',
    extra: { credits: 40 },
  },
  'srv2-upstream-01-req.bin': {
    sender: SENDER_SRV2,
    connId: 5,
    path: '/up',
    protocol: 'tnetstring',
    headers: {
      ...tnetBase('POST', '/', '/up', '/up'),
      host: '127.0.0.1:26767',
      'user-agent': 't',
      accept: '*/*',
      DOWNLOAD_CREDITS: '102400',
      'content-length': '12000',
      'content-type': 'text/plain',
      'x-forwarded-for': '127.0.0.1',
      UPLOAD_STREAM: '0',
    },
    body: streamChunk(0, 3975),
    kind: 'upload-stream',
    extra: { offset: 0, done: false },
  },
  'srv2-upstream-03-req.bin': streamContinuation(3975),
  'srv2-upstream-05-req.bin': streamContinuation(5975),
  'srv2-upstream-07-req.bin': streamContinuation(7975),
  'srv2-upstream-09-req.bin': streamContinuation(9975),
  'srv2-upstream-11-req.bin': streamContinuation(11975, true),
  'srv2-upstream-13-req.bin': {
    sender: SENDER_SRV2,
    connId: 5,
    path: '@*',
    protocol: 'tnetstring',
    headers: { DOWNLOAD_CREDITS: '42', METHOD: 'JSON' },
    body: '{"type":"credits"}',
    kind: 'credits',
    extra: { credits: 42 },
  },
  'srv2-upstream-14-req.bin': disconnect(SENDER_SRV2, 5, 'tnetstring'),
};
