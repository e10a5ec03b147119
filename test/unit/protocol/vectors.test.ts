/**
 * Every captured Mongrel2 1.12.2 wire message (test/fixtures/vectors, mongrel2-protocol.md §8.1) is a test:
 * requests are parsed and classified to concrete values, replies are re-produced byte-exact by the writers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classify } from '../../../src/protocol/classify';
import { serializeResponse } from '../../../src/protocol/http-response';
import { cancelMessage, creditsMessage, encodeClose, encodeReply, parseReply } from '../../../src/protocol/reply-writer';
import { parseMessage } from '../../../src/protocol/request-parser';
import type { HeaderProtocol, Mongrel2Message, RawHeaders } from '../../../src/protocol/types';
import { WS_OPCODE, encodeFrame, handshakeResponse, websocketAccept } from '../../../src/protocol/websocket';
import { SENDER_JSON, SENDER_SRV2, SENDER_TNET, loadManifest, loadVector, vectorFiles } from './vector-fixtures';

const UPLOAD_DIR = '/tmp';

interface RequestExpectation {
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
const STREAM_BODY = Array.from({ length: 2000 }, (_, i) => `${String(i).padStart(5, '0')}|`).join('');
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

const REQUESTS: Readonly<Record<string, RequestExpectation>> = {
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

const HELLO = Buffer.from('Hello World\n');
const helloResponse = (): Buffer =>
  serializeResponse({ version: 'HTTP/1.1', status: 200, headers: [['Content-Type', 'text/plain']] }, HELLO);
const single = (messages: Buffer[]): Buffer => {
  assert.equal(messages.length, 1);
  return messages[0]!;
};
const credits2000 = (): Buffer => creditsMessage('rid-123', 5, 2000);

const REPLIES: Readonly<Record<string, () => Buffer>> = {
  '02-json-resp.bin': () => single(encodeReply(SENDER_JSON, [36], helloResponse())),
  '05-tnet-resp.bin': () => single(encodeReply(SENDER_TNET, [37], helloResponse())),
  '08-json-resp.bin': () => single(encodeReply(SENDER_JSON, [38], helloResponse())),
  '11-tnet-resp.bin': () => single(encodeReply(SENDER_TNET, [39], helloResponse())),
  '12-tnet-resp.bin': () => single(encodeClose(SENDER_TNET, [39])),
  '16-tnet-resp.bin': () =>
    single(encodeReply(SENDER_TNET, [41], handshakeResponse(websocketAccept('dGhlIHNhbXBsZSBub25jZQ==')))),
  '18-tnet-resp.bin': () => single(encodeReply(SENDER_TNET, [41], encodeFrame(WS_OPCODE.TEXT, 'ok'))),
  '21-json-resp.bin': () => single(encodeReply(SENDER_JSON, [42], '{"type":"msg","msg":"hi"}')),
  '25-tnet-resp.bin': () => single(encodeReply(SENDER_TNET, [1], helloResponse())),
  'srv2-ctl_cancel.bin': () => cancelMessage('rid-123', 3),
  'srv2-upstream-02-resp.bin': credits2000,
  'srv2-upstream-04-resp.bin': credits2000,
  'srv2-upstream-06-resp.bin': credits2000,
  'srv2-upstream-08-resp.bin': credits2000,
  'srv2-upstream-10-resp.bin': credits2000,
  'srv2-upstream-12-resp.bin': () =>
    single(encodeReply('rid-123', [5], serializeResponse({ version: 'HTTP/1.1', status: 200, headers: [] }, Buffer.from('done')))),
};

describe('captured Mongrel2 vectors', () => {
  test('every vector file has an expectation and matches manifest.json', () => {
    const files = vectorFiles();
    assert.equal(files.length, 42);
    assert.deepEqual(files, [...Object.keys(REQUESTS), ...Object.keys(REPLIES)].sort());
    const manifest = loadManifest();
    assert.deepEqual(manifest.map((m) => m.file).sort(), files);
    for (const entry of manifest) {
      const bytes = loadVector(entry.file);
      assert.equal(bytes.length, entry.bytes, entry.file);
      assert.deepEqual(bytes, Buffer.from(entry.latin1, 'latin1'), entry.file);
    }
  });

  for (const [file, want] of Object.entries(REQUESTS)) {
    test(`parses and classifies ${file} as ${want.kind}`, () => {
      const msg = parseMessage(loadVector(file));
      assert.equal(msg.sender, want.sender);
      assert.equal(msg.connId, want.connId);
      assert.equal(msg.path, want.path);
      assert.equal(msg.protocol, want.protocol);
      assert.deepEqual({ ...msg.headers }, want.headers);
      assert.deepEqual(msg.body, Buffer.from(want.body, 'latin1'));
      const c = classify(msg, { uploadDir: UPLOAD_DIR });
      assert.equal(c.kind, want.kind, c.kind === 'invalid' ? c.reason : '');
      assert.equal(c.msg, msg);
      const { kind: _kind, msg: _msg, ...extra } = c;
      assert.deepEqual(extra, want.extra ?? {});
    });
  }

  test('the upload.stream chunks reassemble, by offset, into the 12000-byte body', () => {
    const files = ['01', '03', '05', '07', '09', '11'].map((n) => `srv2-upstream-${n}-req.bin`);
    let assembled = Buffer.alloc(0);
    for (const f of files) {
      const c = classify(parseMessage(loadVector(f)));
      assert.equal(c.kind, 'upload-stream');
      if (c.kind !== 'upload-stream') return;
      assert.equal(c.offset, assembled.length, f);
      assembled = Buffer.concat([assembled, c.msg.body]);
      assert.equal(c.done, f.includes('-11-'));
    }
    assert.equal(assembled.toString('latin1'), STREAM_BODY);
  });

  test("the handshake reply uses the accept value Mongrel2 computed (vector 15 → 16)", () => {
    const c = classify(parseMessage(loadVector('15-tnet-req.bin')));
    assert.equal(c.kind, 'websocket-handshake');
    if (c.kind !== 'websocket-handshake') return;
    assert.equal(websocketAccept(String(c.msg.headers['sec-websocket-key'])), c.accept);
    assert.deepEqual(single(encodeReply(c.msg.sender, [c.msg.connId], handshakeResponse(c.accept))), loadVector('16-tnet-resp.bin'));
  });

  for (const [file, produce] of Object.entries(REPLIES)) {
    test(`re-produces ${file} byte-exact`, () => {
      const want = loadVector(file);
      const got = produce();
      assert.equal(got.toString('latin1'), want.toString('latin1'));
      assert.deepEqual(got, want);
      const parsed = parseReply(got);
      assert.equal(parsed.connIds.length, 1);
    });
  }
});
