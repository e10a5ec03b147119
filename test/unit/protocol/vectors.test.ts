/**
 * Every captured Mongrel2 1.12.2 wire message (test/fixtures/vectors, docs/mongrel2.md §8.1) is a test:
 * requests are parsed and classified to concrete values, replies are re-produced byte-exact by the writers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classify } from '../../../src/protocol/classify';
import { serializeResponse } from '../../../src/protocol/http-response';
import { cancelMessage, creditsMessage, encodeClose, encodeReply, parseReply } from '../../../src/protocol/reply-writer';
import { parseMessage } from '../../../src/protocol/request-parser';
import { WS_OPCODE, encodeFrame, handshakeResponse, websocketAccept } from '../../../src/protocol/websocket';
import { REQUESTS, STREAM_BODY } from './vector-expectations';
import { SENDER_JSON, SENDER_TNET, loadManifest, loadVector, vectorFiles } from './vector-fixtures';

const UPLOAD_DIR = '/tmp';

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
