import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProtocolError } from '../../../src/errors';
import { parseMessage } from '../../../src/protocol/request-parser';
import { encode } from '../../../src/protocol/tnetstring';
import { jsonMessage, loadVector, tnetMessage } from './vector-fixtures';

const S = '53f9f1d1-1116-4751-b6ff-4fbe3e43d142';
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
/** tnetstring dict payload (without the outer length and tag) for the given pairs. */
const dictPayload = (pairs: ReadonlyArray<readonly [string, string | readonly string[]]>): Buffer => {
  const whole = encode(Object.fromEntries(pairs));
  return whole.subarray(whole.indexOf(0x3a) + 1, whole.length - 1);
};

function rejectsAt(buf: Buffer, offset: number, message: RegExp): void {
  assert.throws(
    () => parseMessage(buf),
    (err: unknown) => {
      assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${String(err)}`);
      assert.equal(err.offset, offset, err.message);
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('parseMessage: tnetstring headers', () => {
  test('parses sender, conn id, path, headers and body', () => {
    const msg = parseMessage(tnetMessage(S, 4294967295, '/a/b%20c', dictPayload([['METHOD', 'GET']]), b('hi')));
    assert.equal(msg.sender, S);
    assert.equal(msg.connId, 4294967295);
    assert.equal(msg.path, '/a/b%20c');
    assert.deepEqual({ ...msg.headers }, { METHOD: 'GET' });
    assert.deepEqual(msg.body, b('hi'));
    assert.equal(msg.protocol, 'tnetstring');
  });

  test('keeps a binary body with NUL and 0xFF bytes exact, as a view of the input', () => {
    const body = Buffer.from([0x00, 0xff, 0x2c, 0x20, 0x7d, 0x00, 0x80, 0x0d, 0x0a]);
    const input = tnetMessage(S, 1, '/bin', dictPayload([['METHOD', 'POST']]), body);
    const msg = parseMessage(input);
    assert.deepEqual(msg.body, body);
    assert.equal(msg.body.buffer, input.buffer);
    assert.equal(msg.body.byteOffset, input.byteOffset + input.length - body.length - 1);
  });

  test('turns six repeats of a header into an array in arrival order', () => {
    const six = ['1', '2', '3', '4', '5', '6'];
    const msg = parseMessage(tnetMessage(S, 1, '/', dictPayload([['x-d', six], ['METHOD', 'GET']]), b('')));
    assert.deepEqual(msg.headers['x-d'], six);
    assert.deepEqual(parseMessage(tnetMessage(S, 1, '/', b('3:x-d,0:]'), b(''))).headers['x-d'], []);
  });

  test('decodes header values as UTF-8 when valid, otherwise latin1', () => {
    const raw = Buffer.concat([b('3:utf,2:'), Buffer.from([0xc3, 0xa9]), b(',3:lat,4:caf'), Buffer.from([0xe9]), b(',')]);
    const msg = parseMessage(tnetMessage(S, 1, '/', raw, b('')));
    assert.equal(msg.headers.utf, 'é');
    assert.equal(msg.headers.lat, 'café');
  });

  test('accepts a message without METHOD (upload.stream continuation)', () => {
    const msg = parseMessage(b(`${S} 5 /up 24:13:UPLOAD_STREAM,4:3975,}3:abc,`));
    assert.deepEqual({ ...msg.headers }, { UPLOAD_STREAM: '3975' });
    assert.equal(msg.path, '/up');
  });

  test('stores a __proto__ header as an own property without touching the prototype', () => {
    const msg = parseMessage(tnetMessage(S, 1, '/', b('9:__proto__,8:1:a,1:b,]'), b('')));
    assert.equal(Object.getPrototypeOf(msg.headers), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(msg.headers, '__proto__')?.value, ['a', 'b']);
  });

  test('rejects header values that are neither strings nor lists of strings', () => {
    const prefix = `${S} 1 / `;
    rejectsAt(tnetMessage(S, 1, '/', b('1:k,1:1#'), b('')), prefix.length + 6, /must be a string or a list/);
    rejectsAt(tnetMessage(S, 1, '/', b('1:k,4:1:1#]'), b('')), prefix.length + 9, /repeated header value must be a string/);
    rejectsAt(tnetMessage(S, 1, '/', b('1:1#1:v,'), b('')), prefix.length + 2, /header name must be/);
    rejectsAt(tnetMessage(S, 1, '/', b('1:k,'), b('')), prefix.length + 6, /header has no value/);
  });
});

describe('parseMessage: JSON headers', () => {
  test('tolerates a raw TAB and a raw 0xE9 byte inside JSON header values (docs/mongrel2.md §2.5)', () => {
    const json = Buffer.concat([b('{"METHOD":"GET","x-ctl":"tab\there","x-lat":"caf'), Buffer.from([0xe9]), b('"}')]);
    const msg = parseMessage(jsonMessage(S, 7, '/j', json, b('')));
    assert.equal(msg.protocol, 'json');
    assert.equal(msg.headers['x-ctl'], 'tab\there');
    assert.equal(msg.headers['x-lat'], 'café');
    assert.equal(msg.headers.METHOD, 'GET');
  });

  test('decodes valid UTF-8 bytes in JSON as UTF-8, also inside arrays', () => {
    const json = Buffer.concat([b('{"x-u":"'), Buffer.from('é☃', 'utf8'), b('","x-a":["'), Buffer.from([0xe9]), b('","\x01ok"]}')]);
    const msg = parseMessage(jsonMessage(S, 7, '/j', json, b('')));
    assert.equal(msg.headers['x-u'], 'é☃');
    assert.deepEqual(msg.headers['x-a'], ['é', '\x01ok']);
  });

  test('keeps escaped quotes and backslashes next to raw control characters', () => {
    const json = b('{"x":"a\\"b\tc\\\\","y":"\r\n"}');
    const msg = parseMessage(jsonMessage(S, 7, '/j', json, b('')));
    assert.equal(msg.headers.x, 'a"b\tc\\');
    assert.equal(msg.headers.y, '\r\n');
  });

  test('keeps JSON \\u escapes as text', () => {
    const msg = parseMessage(jsonMessage(S, 7, '/j', b('{"x":"\\u2603\\u00e9"}'), b('')));
    assert.equal(msg.headers.x, '☃é');
  });

  test('turns six repeats of a header into an array (JSON)', () => {
    const msg = parseMessage(jsonMessage(S, 7, '/j', b('{"x-d":["1","2","3","4","5","6"]}'), b('')));
    assert.deepEqual(msg.headers['x-d'], ['1', '2', '3', '4', '5', '6']);
  });

  test('tolerates numeric JSON values by stringifying them', () => {
    const msg = parseMessage(jsonMessage(S, 7, '@*', b('{"METHOD":"JSON","DOWNLOAD_CREDITS":40}'), b('{"type":"credits"}')));
    assert.equal(msg.headers.DOWNLOAD_CREDITS, '40');
  });

  test('stores a JSON __proto__ header as an own property', () => {
    const msg = parseMessage(jsonMessage(S, 7, '/j', b('{"__proto__":["a","b"]}'), b('')));
    assert.equal(Object.getPrototypeOf(msg.headers), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(msg.headers, '__proto__')?.value, ['a', 'b']);
  });

  test('rejects invalid JSON, non-object JSON and non-string values at the headers payload offset', () => {
    const at = `${S} 7 /j 00:`.length;
    const withJson = (json: string): Buffer => jsonMessage(S, 7, '/j', b(json), b(''));
    const offsetFor = (json: string): number => at - 2 + String(json.length).length;
    for (const [json, re] of [
      ['{"a":', /invalid JSON headers/],
      ['["a"]', /must be an object/],
      ['null', /must be an object/],
      ['{"a":{"b":"c"}}', /must be a string or an array of strings/],
      ['{"a":[true]}', /must be a string or an array of strings/],
      ['{"a":"x\\\x01"}', /invalid JSON headers/],
      ['{\x01"a":"b"}', /invalid JSON headers/],
    ] as const) {
      rejectsAt(withJson(json), offsetFor(json), re);
    }
  });
});

describe('parseMessage: framing errors', () => {
  const good = loadVector('01-json-req.bin');

  test('rejects trailing garbage after the body with its offset', () => {
    rejectsAt(Buffer.concat([good, b('X')]), good.length, /1 trailing bytes after body/);
    rejectsAt(Buffer.concat([good, b('\n')]), good.length, /trailing bytes/);
  });

  test('rejects missing fields with exact offsets', () => {
    rejectsAt(b(''), 0, /missing space after sender/);
    rejectsAt(b('abc'), 3, /missing space after sender/);
    rejectsAt(b(' 1 / 0:}0:,'), 0, /empty sender/);
    rejectsAt(b('s 1'), 3, /missing space after connection id/);
    rejectsAt(b('s 1 /p'), 6, /missing space after path/);
    rejectsAt(b('s 1  0:}0:,'), 4, /empty path/);
    rejectsAt(b('s  / 0:}0:,'), 2, /empty connection id/);
  });

  test('validates the connection id as a decimal uint32', () => {
    rejectsAt(b('s 1x / 0:}0:,'), 3, /must be decimal digits/);
    rejectsAt(b('s -1 / 0:}0:,'), 2, /must be decimal digits/);
    rejectsAt(b('s 01 / 0:}0:,'), 2, /leading zero/);
    rejectsAt(b('s 4294967296 / 0:}0:,'), 2, /exceeds uint32/);
    rejectsAt(b('s 12345678901 / 0:}0:,'), 2, /longer than 10 digits/);
    assert.equal(parseMessage(b('s 0 / 0:}0:,')).connId, 0);
  });

  test('requires the headers to be a netstring or a dict and the body a netstring', () => {
    rejectsAt(b('s 1 / 0:]0:,'), 8, /headers must be/);
    rejectsAt(b('s 1 / 0:}0:~'), 11, /body must be a netstring/);
    rejectsAt(b('s 1 / 0:}'), 9, /expected a tnetstring length prefix/);
    rejectsAt(b('s 1 / 0:}5:ab,'), 14, /truncated tnetstring payload/);
    rejectsAt(b('s 1 / 3:}'), 9, /truncated tnetstring payload/);
  });

  test('accepts an empty headers dict and an empty body', () => {
    const msg = parseMessage(b('s 1 / 0:}0:,'));
    assert.deepEqual({ ...msg.headers }, {});
    assert.equal(msg.body.length, 0);
  });
});

describe('parseMessage: bounds on hostile messages (issue 11 #3)', () => {
  const rejects = (buf: Buffer, message: RegExp): ProtocolError => {
    let caught: unknown;
    assert.throws(() => parseMessage(buf), (err: unknown) => ((caught = err), err instanceof ProtocolError && message.test(err.message)));
    return caught as ProtocolError;
  };

  test('a sender with a byte outside [A-Za-z0-9-] is refused at its offset (no reply could address it)', () => {
    rejectsAt(tnetMessage('ab%cd', 1, '/', dictPayload([['METHOD', 'GET']]), b('')), 2, /sender byte 0x25/);
    rejectsAt(tnetMessage('abc\u00ff', 1, '/', dictPayload([['METHOD', 'GET']]), b('')), 3, /outside/);
  });

  test('JSON nesting deeper than 2 is refused before JSON.parse, also a 10^6-deep one', () => {
    rejects(jsonMessage(S, 1, '/', b('{"METHOD":"GET","a":[["x"]]}'), b('')), /nested deeper than 2/);
    rejects(jsonMessage(S, 1, '/', b('{"a":[{"b":"c"}]}'), b('')), /nested deeper than 2/);
    rejects(jsonMessage(S, 1, '/', b(`{"a":${'['.repeat(60_000)}`), b('')), /nested deeper than 2/);
    rejects(jsonMessage(S, 1, '/', b(`{"a":${'['.repeat(1_000_000)}`), b('')), /header block of 1000005 bytes is over 65536/);
    // Brackets inside strings are text, not nesting.
    assert.equal(parseMessage(jsonMessage(S, 1, '/', b('{"METHOD":"GET","x":"[[{{\\"]]"}'), b(''))).headers['x'], '[[{{"]]');
  });

  test('a header block over 64 KiB and more than 1400 header values are refused, in both protocols', () => {
    rejects(tnetMessage(S, 1, '/', dictPayload([['METHOD', 'GET'], ['x', 'v'.repeat(8 * 1024 * 1024)]]), b('')), /over 65536/);
    const many = Array.from({ length: 1401 }, (_, i) => [`h${i}`, 'v'] as const);
    rejects(tnetMessage(S, 1, '/', dictPayload(many), b('')), /more than 1400 header values/);
    rejects(jsonMessage(S, 1, '/', b(JSON.stringify(Object.fromEntries(many))), b('')), /more than 1400 JSON header values/);
    const repeated = Array.from({ length: 1401 }, () => 'v');
    rejects(tnetMessage(S, 1, '/', dictPayload([['x', repeated]]), b('')), /more than 1400 header values/);
    // At the bound, a message still parses.
    const ok = Array.from({ length: 1400 }, (_, i) => [`h${i}`, 'v'] as const);
    assert.equal(Object.keys(parseMessage(tnetMessage(S, 1, '/', dictPayload(ok), b(''))).headers).length, 1400);
  });

  test('a path over 8 KiB is refused', () => {
    rejects(tnetMessage(S, 1, `/${'p'.repeat(8 * 1024)}`, dictPayload([['METHOD', 'GET']]), b('')), /path longer than 8192/);
  });

  test('error messages quote at most 64 characters of the input', () => {
    const key = 'k'.repeat(50_000);
    const err = rejects(jsonMessage(S, 1, '/', b(`{"${key}":true}`), b('')), /must be a string/);
    assert.ok(err.message.length < 200, `message is ${err.message.length} chars`);
    const bad = rejects(jsonMessage(S, 1, '/', b(`{"a":"b" ${'x'.repeat(50_000)}}`), b('')), /invalid JSON headers/);
    assert.ok(bad.message.length < 200, `message is ${bad.message.length} chars`);
  });
});
