import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classify, isInside } from '../../../src/protocol/classify';
import type { ClassifyOptions } from '../../../src/protocol/classify';
import type { Mongrel2Message, RawHeaders, RawMessage } from '../../../src/protocol/types';

const raw = (path: string, headers: RawHeaders, body = ''): RawMessage => ({
  sender: 'sender-1',
  connId: 9,
  path,
  headers,
  body: Buffer.from(body, 'latin1'),
  protocol: 'tnetstring',
});
const GET = { METHOD: 'GET', PATH: '/x' };
const TMP: ClassifyOptions = { uploadDir: '/tmp' };

/** Classifies with options (default none). */
function kindOf(msg: RawMessage, opts: ClassifyOptions = {}): Mongrel2Message {
  return classify(msg, opts);
}
/** Asserts that the message is classified 'invalid' with a matching reason. */
function assertInvalid(msg: RawMessage, opts: ClassifyOptions, reason: RegExp): void {
  const c = classify(msg, opts);
  assert.equal(c.kind, 'invalid');
  if (c.kind === 'invalid') assert.match(c.reason, reason);
}

describe('classify: @* notices', () => {
  test('recognises a disconnect notice', () => {
    assert.deepEqual(kindOf(raw('@*', { METHOD: 'JSON' }, '{"type":"disconnect"}')).kind, 'disconnect');
  });

  test('recognises a credits notice and reads DOWNLOAD_CREDITS as an integer', () => {
    const c = kindOf(raw('@*', { METHOD: 'JSON', DOWNLOAD_CREDITS: '102400' }, '{"type":"credits"}'));
    assert.equal(c.kind, 'credits');
    if (c.kind === 'credits') assert.equal(c.credits, 102400);
  });

  test('rejects credits notices without a usable DOWNLOAD_CREDITS', () => {
    const body = '{"type":"credits"}';
    assertInvalid(raw('@*', { METHOD: 'JSON' }, body), {}, /bad DOWNLOAD_CREDITS \(absent\)/);
    assertInvalid(raw('@*', { METHOD: 'JSON', DOWNLOAD_CREDITS: '-1' }, body), {}, /bad DOWNLOAD_CREDITS "-1"/);
    assertInvalid(raw('@*', { METHOD: 'JSON', DOWNLOAD_CREDITS: ['1', '2'] }, body), {}, /\(repeated\)/);
  });

  test('marks unknown types, bad JSON and non-JSON methods on @* as invalid', () => {
    assertInvalid(raw('@*', { METHOD: 'JSON' }, '{"type":"ping"}'), {}, /unknown type "ping"/);
    assertInvalid(raw('@*', { METHOD: 'JSON' }, '{"type":'), {}, /not valid JSON/);
    assertInvalid(raw('@*', { METHOD: 'JSON' }, '3'), {}, /unknown type \(absent\)/);
    assertInvalid(raw('@*', { METHOD: 'JSON' }, 'null'), {}, /unknown type/);
    assertInvalid(raw('@*', { METHOD: 'GET' }, '{"type":"disconnect"}'), {}, /METHOD "GET"/);
    assertInvalid(raw('@*', {}, '{"type":"disconnect"}'), {}, /METHOD \(absent\)/);
  });
});

describe('classify: WebSocket', () => {
  const ws = (flags: string | undefined, body = ''): RawMessage =>
    raw('/ws', flags === undefined ? { METHOD: 'WEBSOCKET' } : { METHOD: 'WEBSOCKET', FLAGS: flags }, body);

  test('a handshake carries the accept value from the body', () => {
    const c = kindOf(raw('/ws', { METHOD: 'WEBSOCKET_HANDSHAKE' }, 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='));
    assert.deepEqual({ kind: c.kind, accept: c.kind === 'websocket-handshake' ? c.accept : '' }, {
      kind: 'websocket-handshake',
      accept: 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
    });
  });

  test('parses FLAGS into opcode and fin, keeping RSV bits in flags', () => {
    const cases: Array<[string, number, number, boolean]> = [
      ['0x81', 0x81, 1, true],
      ['0x82', 0x82, 2, true],
      ['0x88', 0x88, 8, true],
      ['0x89', 0x89, 9, true],
      ['0x8A', 0x8a, 10, true],
      ['0xC1', 0xc1, 1, true],
      ['0x1', 0x01, 1, false],
    ];
    for (const [flags, value, opcode, fin] of cases) {
      const c = kindOf(ws(flags, '\x00\xff'));
      assert.equal(c.kind, 'websocket-frame', flags);
      if (c.kind !== 'websocket-frame') continue;
      assert.deepEqual([c.flags, c.opcode, c.fin], [value, opcode, fin], flags);
      assert.deepEqual(c.payload, Buffer.from([0x00, 0xff]));
    }
  });

  test('marks missing or malformed FLAGS as invalid', () => {
    assertInvalid(ws(undefined), {}, /bad WebSocket FLAGS \(absent\)/);
    assertInvalid(ws('81'), {}, /bad WebSocket FLAGS "81"/);
    assertInvalid(ws('0x100'), {}, /FLAGS/);
    assertInvalid(ws('0xZZ'), {}, /FLAGS/);
  });
});

describe('classify: uploads', () => {
  test('UPLOAD_STREAM gives upload-stream with offset and done', () => {
    const first = kindOf(raw('/up', { METHOD: 'POST', UPLOAD_STREAM: '0' }, 'abc'));
    assert.deepEqual(first.kind === 'upload-stream' ? [first.offset, first.done] : first.kind, [0, false]);
    const last = kindOf(raw('/up', { UPLOAD_STREAM: '11975', UPLOAD_STREAM_DONE: '1' }));
    assert.deepEqual(last.kind === 'upload-stream' ? [last.offset, last.done] : last.kind, [11975, true]);
    assertInvalid(raw('/up', { UPLOAD_STREAM: 'x' }), {}, /bad UPLOAD_STREAM offset "x"/);
  });

  test('an upload start inside uploadDir gives upload-start; start+done gives a request with the file', () => {
    const start = kindOf(raw('/u', { ...GET, 'x-mongrel2-upload-start': '/tmp/upload.AbC123' }), TMP);
    assert.deepEqual(start.kind === 'upload-start' ? start.file : start.kind, '/tmp/upload.AbC123');
    const headers = { ...GET, 'x-mongrel2-upload-start': '/tmp/upload.AbC123', 'x-mongrel2-upload-done': '/tmp/upload.AbC123' };
    const done = kindOf(raw('/u', headers), { uploadDir: '/tmp/' });
    assert.equal(done.kind, 'request');
    assert.deepEqual(done.kind === 'request' ? done.upload : undefined, { file: '/tmp/upload.AbC123' });
  });

  test('a forged upload path such as /etc/passwd is invalid', () => {
    const forged = { ...GET, 'x-mongrel2-upload-start': '/etc/passwd', 'x-mongrel2-upload-done': '/etc/passwd' };
    assertInvalid(raw('/u', forged), TMP, /"\/etc\/passwd" is outside uploadDir/);
  });

  test('a .. escape out of uploadDir is invalid, a .. that stays inside is accepted', () => {
    assertInvalid(raw('/u', { ...GET, 'x-mongrel2-upload-start': '/tmp/../etc/passwd' }), TMP, /outside uploadDir/);
    assertInvalid(raw('/u', { ...GET, 'x-mongrel2-upload-start': '/tmp/a/../../etc/shadow' }), TMP, /outside/);
    assert.equal(kindOf(raw('/u', { ...GET, 'x-mongrel2-upload-start': '/tmp/a/../upload.x' }), TMP).kind, 'upload-start');
  });

  test('start different from done is invalid', () => {
    const h = { ...GET, 'x-mongrel2-upload-start': '/tmp/upload.a', 'x-mongrel2-upload-done': '/tmp/upload.b' };
    assertInvalid(raw('/u', h), TMP, /start and -done differ/);
  });

  test('without uploadDir any upload header is invalid', () => {
    assertInvalid(raw('/u', { ...GET, 'x-mongrel2-upload-start': '/tmp/upload.a' }), {}, /no uploadDir/);
    assertInvalid(raw('/u', { ...GET, 'x-mongrel2-upload-done': '/tmp/upload.a' }), {}, /no uploadDir/);
  });

  test('done without start, repeated upload headers and relative paths are invalid', () => {
    assertInvalid(raw('/u', { ...GET, 'x-mongrel2-upload-done': '/tmp/upload.a' }), TMP, /done without/);
    assertInvalid(raw('/u', { ...GET, 'x-mongrel2-upload-start': ['/etc/passwd', '/tmp/upload.a'] }), TMP, /repeated/);
    assertInvalid(raw('/u', { ...GET, 'x-mongrel2-upload-start': 'tmp/upload.a' }), TMP, /outside/);
    assertInvalid(raw('/u', { ...GET, 'x-mongrel2-upload-start': '/tmp' }), TMP, /outside/);
    assertInvalid(raw('/u', { ...GET, 'x-mongrel2-upload-start': '/tmpfoo/upload.a' }), TMP, /outside/);
    assertInvalid(raw('/u', { ...GET, 'x-mongrel2-upload-start': '/tmp/upload.a' }), { uploadDir: 'tmp' }, /outside/);
  });

  test('isInside normalises paths and requires a strict child', () => {
    assert.equal(isInside('/tmp/a', '/tmp'), true);
    assert.equal(isInside('/tmp/a/b', '/tmp/'), true);
    assert.equal(isInside('//tmp//a', '/tmp'), true);
    assert.equal(isInside('/tmp/./', '/tmp'), false);
    assert.equal(isInside('/tmp/a/', '/tmp'), false);
    assert.equal(isInside('/tmp/a\0', '/tmp'), false);
    assert.equal(isInside('/etc/passwd', '/'), true);
  });
});

describe('classify: socket messages and requests', () => {
  test('METHOD JSON on @route is a socket message with the body as data', () => {
    const c = kindOf(raw('@chat', { METHOD: 'JSON', PATH: '@chat' }, '{"type":"join"}'));
    assert.deepEqual(c.kind === 'socket-message' ? [c.method, c.data] : c.kind, ['JSON', '{"type":"join"}']);
  });

  test('METHOD XML on <route is a socket message', () => {
    const c = kindOf(raw('<chat', { METHOD: 'XML' }, '<chat>hi</chat>'));
    assert.deepEqual(c.kind === 'socket-message' ? [c.method, c.data] : c.kind, ['XML', '<chat>hi</chat>']);
  });

  test('METHOD JSON on an HTTP path is an ordinary request', () => {
    assert.equal(kindOf(raw('/api', { METHOD: 'JSON' })).kind, 'request');
  });

  test('an ordinary request keeps no upload info', () => {
    const c = kindOf(raw('/x', GET), TMP);
    assert.deepEqual(c, { kind: 'request', msg: c.msg });
  });

  test('a message without METHOD (and without UPLOAD_STREAM) is invalid', () => {
    assertInvalid(raw('/x', { PATH: '/x' }), {}, /missing METHOD/);
  });

  test('a repeated METHOD header is invalid', () => {
    assertInvalid(raw('/x', { METHOD: ['GET', 'POST'] }), {}, /METHOD header is repeated/);
  });

  test('never throws, even for a malformed message object', () => {
    const hostile = {
      ...raw('/x', GET),
      get headers(): RawHeaders {
        throw new Error('boom');
      },
    };
    assertInvalid(hostile, {}, /classification failed: boom/);
  });
});
