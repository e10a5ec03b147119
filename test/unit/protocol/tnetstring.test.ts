import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, M2PoolError, ProtocolError } from '../../../src/errors';
import { decode, decodeAll, decodeText, encode, readFrame } from '../../../src/protocol/tnetstring';
import type { TnetInput, TnetValue } from '../../../src/protocol/tnetstring';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const dec = (s: string): TnetValue => decodeAll(b(s));

/** Asserts that decoding `input` fails with a ProtocolError at exactly `offset`. */
function rejectsAt(input: string | Buffer, offset: number, message: RegExp): void {
  const buf = typeof input === 'string' ? b(input) : input;
  assert.throws(
    () => decodeAll(buf),
    (err: unknown) => {
      assert.ok(err instanceof ProtocolError, `expected ProtocolError, got ${String(err)}`);
      assert.equal(err.code, ErrorCode.PROTOCOL);
      assert.equal(err.offset, offset, err.message);
      assert.match(err.message, message);
      return true;
    },
  );
}

/** `n` nested lists around an empty list: depth n + 1. */
function nestedLists(n: number): Buffer {
  let inner = b('0:]');
  for (let i = 0; i < n; i++) inner = Buffer.concat([b(`${inner.length}:`), inner, b(']')]);
  return inner;
}

describe('tnetstring decode', () => {
  test('decodes strings to Buffers, including binary bytes and the empty string', () => {
    assert.deepEqual(dec('5:hello,'), b('hello'));
    assert.deepEqual(dec('0:,'), Buffer.alloc(0));
    assert.deepEqual(decodeAll(Buffer.from([0x33, 0x3a, 0x00, 0xff, 0x2c, 0x2c])), Buffer.from([0x00, 0xff, 0x2c]));
  });

  test('string values are zero-copy views of the input', () => {
    const input = b('3:abc,');
    const value = decodeAll(input) as Buffer;
    input[2] = 0x78;
    assert.equal(value.toString(), 'xbc');
  });

  test('decodes integers as numbers in the safe range and bigints outside it', () => {
    assert.equal(dec('3:123#'), 123);
    assert.equal(dec('2:-5#'), -5);
    assert.equal(dec('1:0#'), 0);
    assert.ok(Object.is(dec('2:-0#'), 0));
    assert.equal(dec('3:007#'), 7);
    assert.equal(dec('16:9007199254740991#'), Number.MAX_SAFE_INTEGER);
    assert.equal(dec('17:-9007199254740991#'), -Number.MAX_SAFE_INTEGER);
    assert.equal(dec('16:9007199254740992#'), 9007199254740992n);
    assert.equal(dec('20:12345678901234567890#'), 12345678901234567890n);
    assert.equal(dec('21:-12345678901234567890#'), -12345678901234567890n);
  });

  test('rejects malformed integers at the offending byte', () => {
    rejectsAt('0:#', 2, /no digits/);
    rejectsAt('1:-#', 3, /no digits/);
    rejectsAt('2:1a#', 3, /invalid character in tnetstring integer/);
    rejectsAt('2:+1#', 2, /invalid character/);
    rejectsAt('3:1.5#', 3, /invalid character/);
    rejectsAt('2: 1#', 2, /invalid character/);
  });

  test('decodes floats, including nan and inf', () => {
    assert.equal(dec('3:1.5^'), 1.5);
    assert.equal(dec('4:-1e3^'), -1000);
    assert.equal(dec('7:1.5e+21^'), 1.5e21);
    assert.equal(dec('2:.5^'), 0.5);
    assert.equal(dec('3:inf^'), Infinity);
    assert.equal(dec('4:-inf^'), -Infinity);
    assert.ok(Number.isNaN(dec('3:nan^')));
    rejectsAt('3:abc^', 2, /invalid tnetstring float/);
    rejectsAt('0:^', 2, /invalid tnetstring float/);
    rejectsAt('4:1..2^', 2, /invalid tnetstring float/);
  });

  test("decodes booleans 'true' and 'false' only", () => {
    assert.equal(dec('4:true!'), true);
    assert.equal(dec('5:false!'), false);
    rejectsAt('4:TRUE!', 2, /boolean/);
    rejectsAt('1:1!', 2, /boolean/);
  });

  test('decodes null only with length 0', () => {
    assert.equal(dec('0:~'), null);
    rejectsAt('4:null~', 2, /null must have length 0/);
  });

  test('decodes lists and dicts, nested', () => {
    assert.deepEqual(dec('0:]'), []);
    assert.deepEqual(dec('0:}'), {});
    assert.deepEqual(dec('14:1:a,1:1#0:~0:]]'), [b('a'), 1, null, []]);
    assert.deepEqual(dec('27:3:ctl,17:7:credits,4:2000#}]'), [b('ctl'), { credits: 2000 }]);
    assert.deepEqual(dec('22:3:ctl,12:6:cancel,0:~}]'), [b('ctl'), { cancel: null }]);
  });

  test('dict keys use the UTF-8-else-latin1 rule and a repeated key keeps the last value', () => {
    const utf8Key = Buffer.concat([b('9:2:'), Buffer.from([0xc3, 0xa9]), b(',1:1#}')]);
    assert.deepEqual(decodeAll(utf8Key), { 'é': 1 });
    const latin1Key = Buffer.concat([b('8:1:'), Buffer.from([0xe9]), b(',1:1#}')]);
    assert.deepEqual(decodeAll(latin1Key), { 'é': 1 });
    assert.deepEqual(dec('16:1:k,1:1#1:k,1:2#}'), { k: 2 });
  });

  test('a __proto__ key becomes an own property and leaves the prototype alone', () => {
    const value = dec('19:9:__proto__,4:1:x,]}') as Record<string, TnetValue>;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.ok(Object.hasOwn(value, '__proto__'));
    assert.deepEqual(Object.getOwnPropertyDescriptor(value, '__proto__')?.value, [b('x')]);
  });

  test('rejects non-string dict keys and keys without a value', () => {
    rejectsAt('8:1:1#1:a,}', 2, /dict key must be a string/);
    rejectsAt('4:1:a,}', 6, /dict key has no value/);
  });

  test('returns the offset just past the value (the remainder) and honours a start offset', () => {
    assert.deepEqual(decode(b('5:hello,rest')), { value: b('hello'), end: 8 });
    assert.deepEqual(decode(b('xx1:7#yy'), 2), { value: 7, end: 6 });
    assert.throws(() => decode(b('1:a,'), 5), RangeError);
  });

  test('rejects bad length prefixes with exact offsets', () => {
    rejectsAt('', 0, /found end of input/);
    rejectsAt(':a,', 0, /expected a digit/);
    rejectsAt('a:,', 0, /expected a digit/);
    rejectsAt('-1:a,', 0, /expected a digit/);
    rejectsAt('1234567890:', 9, /longer than 9 digits/);
    rejectsAt('5', 1, /truncated tnetstring length prefix/);
    rejectsAt('5x', 1, /expected ':'/);
    rejectsAt('1 :a,', 1, /expected ':'/);
  });

  test('accepts leading zeros and up to 9 length digits ([0-9]{1,9})', () => {
    assert.deepEqual(dec('03:abc,'), b('abc'));
    assert.deepEqual(dec('000000000:,'), Buffer.alloc(0));
  });

  test('rejects truncated payloads, a missing tag, unknown tags and trailing bytes', () => {
    rejectsAt('5:ab', 4, /truncated tnetstring payload/);
    rejectsAt('2:ab', 4, /missing tnetstring type tag/);
    rejectsAt('2:ab?', 4, /unknown tnetstring type tag 0x3f/);
    rejectsAt('1:a,x', 4, /1 trailing bytes/);
    rejectsAt('0:~0:~', 3, /3 trailing bytes/);
    // an element running past its container's end
    rejectsAt('4:3:ab]', 6, /truncated tnetstring payload/);
  });

  test('limits nesting depth (default 32) with an error at the offending container', () => {
    assert.ok(Array.isArray(decodeAll(nestedLists(31))));
    const tooDeep = nestedLists(32);
    assert.throws(
      () => decodeAll(tooDeep),
      (err: unknown) => err instanceof ProtocolError && /nested deeper than 32/.test(err.message),
    );
    assert.throws(() => decodeAll(b('6:3:0:]]]'), { maxDepth: 2 }), (err: unknown) => err instanceof ProtocolError && err.offset === 4);
    assert.deepEqual(decodeAll(b('3:0:]]'), { maxDepth: 2 }), [[]]);
    assert.throws(() => decodeAll(b('0:]'), { maxDepth: 0 }), ProtocolError);
    assert.equal(decodeAll(b('1:1#'), { maxDepth: 0 }), 1);
  });

  test('hostile deep nesting gives a ProtocolError, never a stack overflow', () => {
    assert.throws(() => decodeAll(nestedLists(3000)), ProtocolError);
    assert.throws(() => decodeAll(nestedLists(3000), { maxDepth: 1000 }), ProtocolError);
  });

  test('rejects invalid maxDepth options with a RangeError', () => {
    assert.throws(() => decodeAll(b('0:~'), { maxDepth: -1 }), RangeError);
    assert.throws(() => decodeAll(b('0:~'), { maxDepth: 1.5 }), RangeError);
    assert.throws(() => decodeAll(b('0:~'), { maxDepth: 100_000 }), RangeError);
  });
});

describe('tnetstring readFrame and decodeText', () => {
  test('readFrame returns tag, payload bounds and the next offset without interpreting the payload', () => {
    assert.deepEqual(readFrame(b('xx3:abc?'), 2), { tag: 0x3f, start: 4, end: 7, next: 8 });
    assert.throws(() => readFrame(b('3:abc,'), 0, 5), (e: unknown) => e instanceof ProtocolError && e.offset === 5);
  });

  test('decodeText decodes valid UTF-8 as UTF-8 and anything else as latin1', () => {
    assert.equal(decodeText(Buffer.from('héllo ☃', 'utf8')), 'héllo ☃');
    assert.equal(decodeText(Buffer.from([0x63, 0x61, 0x66, 0xe9])), 'café');
    assert.equal(decodeText(Buffer.from([0xff, 0xfe])), '\u00ff\u00fe');
    assert.equal(decodeText(Buffer.alloc(0)), '');
  });
});

describe('tnetstring encode', () => {
  const enc = (v: TnetInput): string => encode(v).toString('latin1');

  test('encodes every type', () => {
    assert.equal(enc('hello'), '5:hello,');
    assert.equal(enc('é'), `2:${Buffer.from('é').toString('latin1')},`);
    assert.equal(enc(b('\x00\xff')), '2:\x00\xff,');
    assert.equal(enc(new Uint8Array([0x61, 0x62]).subarray(1)), '1:b,');
    assert.equal(enc(0), '1:0#');
    assert.equal(enc(-0), '1:0#');
    assert.equal(enc(-42), '3:-42#');
    // Beyond the safe-integer range a number is a float (issue 11 #9: as '#' it decoded to a bigint).
    assert.equal(enc(2 ** 60), '19:1152921504606847000^');
    assert.equal(enc(1e21), '5:1e+21^');
    assert.equal(enc(12345678901234567890n), '20:12345678901234567890#');
    assert.equal(enc(1.5), '3:1.5^');
    assert.equal(enc(1e-7), '4:1e-7^');
    assert.equal(enc(Number.NaN), '3:nan^');
    assert.equal(enc(-Infinity), '4:-inf^');
    assert.equal(enc(true), '4:true!');
    assert.equal(enc(false), '5:false!');
    assert.equal(enc(null), '0:~');
    assert.equal(enc([]), '0:]');
    assert.equal(enc({}), '0:}');
    assert.equal(enc(['a', [1, null]]), '14:1:a,7:1:1#0:~]]');
  });

  test('encodes Mongrel2 ctl messages byte-exact (credits as a # integer)', () => {
    assert.equal(enc(['ctl', { credits: 2000 }]), '27:3:ctl,17:7:credits,4:2000#}]');
    assert.equal(enc(['ctl', { cancel: null }]), '22:3:ctl,12:6:cancel,0:~}]');
  });

  test('numbers beyond the safe-integer range are written as floats, so decode(encode(x)) === x', () => {
    for (const x of [2 ** 53, -(2 ** 53), 2 ** 64, 1e21, -1e21, 1.5e300, Number.MAX_VALUE, 0.1, -2.5, 5e-324]) {
      const bytes = encode(x);
      assert.equal(String.fromCharCode(bytes[bytes.length - 1]!), '^', `${x} as ${bytes.toString('latin1')}`);
      assert.equal(decodeAll(bytes), x);
    }
    for (const x of [0, 1, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      assert.equal(encode(x).toString('latin1'), `${String(x).length}:${x}#`);
      assert.equal(decodeAll(encode(x)), x);
    }
    assert.equal(decodeAll(encode(2n ** 64n)), 2n ** 64n, 'a bigint stays an integer');
  });

  test('round-trips through decode (strings come back as Buffers)', () => {
    const input = { a: ['x', 1, -2.5, true, null, { n: 9007199254740993n }], 'ü': b('\x00') };
    assert.deepEqual(decodeAll(encode(input)), {
      a: [b('x'), 1, -2.5, true, null, { n: 9007199254740993n }],
      'ü': b('\x00'),
    });
  });

  test('refuses values with no tnetstring form, with code PROTOCOL', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    const bad: unknown[] = [undefined, () => 1, Symbol('s'), new Date(0), new Map(), { k: undefined }, cyclic];
    for (const v of bad) {
      assert.throws(
        () => encode(v as TnetInput),
        (err: unknown) => err instanceof M2PoolError && !(err instanceof ProtocolError) && err.code === ErrorCode.PROTOCOL,
      );
    }
  });
});
