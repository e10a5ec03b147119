import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, M2PoolError, ProtocolError } from '../../../src/errors';
import {
  allocWithHeadroom,
  HEADROOM_MIN_BYTES,
  REPLY_HEADROOM,
  cancelMessage,
  creditsMessage,
  encodeClose,
  encodeCtl,
  encodeExtended,
  encodeReply,
  keepAliveMessage,
  parseReply,
  repliesOnlyTo,
} from '../../../src/protocol/reply-writer';
import { MAX_REPLY_TARGETS } from '../../../src/protocol/types';

const S = '34f9ceee-cd52-4b7f-b197-88bf2f0ec378';
const text = (bufs: Buffer[]): string[] => bufs.map((x) => x.toString('latin1'));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function throwsInvalid(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof M2PoolError, String(err));
    assert.equal(err.code, ErrorCode.RESPONSE_INVALID);
    assert.match(err.message, message);
    return true;
  });
}

describe('encodeReply', () => {
  test('writes UUID SP LEN:IDS, SP BODY with the byte length of the id list', () => {
    assert.deepEqual(text(encodeReply(S, [36], 'hello')), [`${S} 2:36, hello`]);
    assert.deepEqual(text(encodeReply(S, [12, 34], 'x')), [`${S} 5:12 34, x`]);
    assert.deepEqual(text(encodeReply('a', [0, 4294967295], 'x')), ['a 12:0 4294967295, x']);
  });

  test('encodes string bodies as UTF-8 and copies Buffer bodies verbatim', () => {
    assert.deepEqual(encodeReply('a', [1], 'é')[0], Buffer.concat([Buffer.from('a 1:1, '), Buffer.from([0xc3, 0xa9])]));
    const bin = Buffer.from([0x00, 0xff, 0x0d, 0x0a]);
    assert.deepEqual(encodeReply('a', [1], bin)[0], Buffer.concat([Buffer.from('a 1:1, '), bin]));
  });

  test('splits 129 ids into messages of 128 and 1', () => {
    const ids = range(1, 129);
    const out = encodeReply(S, ids, 'B');
    assert.equal(out.length, 2);
    const first = parseReply(out[0]!);
    const second = parseReply(out[1]!);
    assert.deepEqual(first.connIds, range(1, 128));
    assert.deepEqual(second.connIds, [129]);
    assert.equal(out[1]!.toString(), `${S} 3:129, B`);
    assert.deepEqual([first.body.toString(), second.body.toString()], ['B', 'B']);
    assert.equal(MAX_REPLY_TARGETS, 128);
    assert.equal(encodeReply(S, range(1, 256), 'B').length, 2);
    assert.equal(encodeReply(S, range(1, 257), 'B').length, 3);
  });

  test('refuses zero ids, bad ids and an empty body', () => {
    throwsInvalid(() => encodeReply(S, [], 'x'), /at least one connection id/);
    for (const id of [-1, 1.5, Number.NaN, 2 ** 32]) throwsInvalid(() => encodeReply(S, [id], 'x'), /bad connection id/);
    throwsInvalid(() => encodeReply(S, [1], ''), /use encodeClose/);
    throwsInvalid(() => encodeReply(S, [1], Buffer.alloc(0)), /would close the connection/);
  });

  test('refuses a sender outside [A-Za-z0-9-], such as one with a dot', () => {
    for (const sender of ['this.is.wrong', 'bad_uuid', '', 'a b', 'é', 'a\n']) {
      throwsInvalid(() => encodeReply(sender, [1], 'x'), /must match/);
      throwsInvalid(() => encodeClose(sender, [1]), /must match/);
    }
  });
});

describe('encodeClose', () => {
  test('sends an empty body with the mandatory trailing space', () => {
    assert.deepEqual(text(encodeClose(S, [39])), [`${S} 2:39, `]);
    assert.deepEqual(text(encodeClose('a', [9, 10])), ['a 4:9 10, ']);
    throwsInvalid(() => encodeClose(S, []), /at least one/);
  });
});

describe('extended replies', () => {
  test('ctl messages put X in the target list and a tnetstring list in the body', () => {
    assert.equal(creditsMessage('rid-123', 5, 2000).toString(), 'rid-123 3:X 5, 27:3:ctl,17:7:credits,4:2000#}]');
    assert.equal(cancelMessage('rid-123', 3).toString(), 'rid-123 3:X 3, 22:3:ctl,12:6:cancel,0:~}]');
    assert.equal(keepAliveMessage('rid-123', 42).toString(), 'rid-123 4:X 42, 27:3:ctl,17:10:keep-alive,0:~}]');
    assert.deepEqual(text(encodeCtl('a', [1, 2], { credits: 1 })), ['a 5:X 1 2, 24:3:ctl,14:7:credits,1:1#}]']);
  });

  test('encodeExtended encodes any key and args, and splits more than 128 ids', () => {
    assert.deepEqual(text(encodeExtended('a', [7], 'sendfile', '/path')), ['a 3:X 7, 19:8:sendfile,5:/path,]']);
    const out = encodeExtended('a', range(1, 129), 'ctl', { cancel: null });
    assert.deepEqual(out.map((m) => parseReply(m).connIds.length), [128, 1]);
    assert.ok(out.every((m) => parseReply(m).extended));
    throwsInvalid(() => encodeExtended('a', [1], '', null), /key must not be empty/);
  });

  test('creditsMessage accepts only integers 1..2^31-1', () => {
    for (const n of [0, -1, 1.5, 2 ** 31, Number.NaN]) throwsInvalid(() => creditsMessage('a', 1, n), /credits must be/);
    assert.equal(creditsMessage('a', 1, 2 ** 31 - 1).toString(), 'a 3:X 1, 34:3:ctl,24:7:credits,10:2147483647#}]');
  });
});

describe('parseReply (Mongrel2 handler_parser grammar, §4.1 / §8.2)', () => {
  const OK: Array<[string, number]> = [
    ['5a9a6354-fc33-4468-8ccd-5d736737dad7 2:12, The body', 1],
    ['5a9a6354-fc33-4468-8ccd-5d736737dad7 11:0 1 2 3 4 5, The body', 6],
    ['5a9a6354-fc33-4468-8ccd-5d736737dad7 5:12 34, Another body.', 2],
    ['5a9a6354fc3344688ccd5d736737dad7 5:12 34, ', 2],
    ['abc 5:9004 , hello', 1],
    ['anything-at-all 4:9996, hello', 1],
  ];
  const FAIL: Array<[string, string, number]> = [
    ['this.is.wrong 5:12 34, ', 'BAD UUID', 4],
    ['5a9a6354fc3344688ccd5d736737dad7 10:12 34, ', 'TOO LONG NETSTRING', 43],
    ['5a9a6354fc3344688ccd5d736737dad7 3:12 34, ', 'TOO SHORT NETSTRING', 38],
    ['5a9a6354fc3344688ccd5d736737dad7 5:12 34,', 'NO TRAILING SPACE', 41],
    [' 5:12 34,', 'NO UUID', 0],
    ['abc 0:, hello', 'zero targets', 6],
    ['bad_uuid 4:9001, hello', 'bad uuid', 3],
    ['abc 4:9002,hello', 'no space', 11],
    ['abc 3:9003, hello', 'length wrong', 9],
    ['abc 5:12  3, x', 'double space', 9],
    ['abc 3: 12, x', 'leading space', 6],
    ['abc 2:X , x', 'X without ids', 6],
    ['abc :1, x', 'no length', 4],
    ['abc 1:a, x', 'non-digit id', 6],
  ];

  for (const [input, count] of OK) {
    test(`accepts ${JSON.stringify(input)} with ${count} target(s)`, () => {
      const r = parseReply(Buffer.from(input, 'latin1'));
      assert.equal(r.connIds.length, count);
      assert.equal(r.sender, input.slice(0, input.indexOf(' ')));
      assert.equal(r.body.toString('latin1'), input.slice(input.indexOf(', ') + 2));
      assert.equal(r.extended, false);
    });
  }

  for (const [input, why, offset] of FAIL) {
    test(`rejects ${JSON.stringify(input)} (${why})`, () => {
      assert.throws(
        () => parseReply(Buffer.from(input, 'latin1')),
        (err: unknown) => err instanceof ProtocolError && err.offset === offset,
      );
    });
  }

  test('parses ids and the extended flag', () => {
    const r = parseReply(Buffer.from('rid-123 3:X 5, 27:3:ctl,17:7:credits,4:2000#}]'));
    assert.deepEqual({ ...r, body: r.body.toString() }, {
      sender: 'rid-123',
      extended: true,
      connIds: [5],
      body: '27:3:ctl,17:7:credits,4:2000#}]',
    });
    assert.deepEqual(parseReply(Buffer.from('a 11:0 1 2 3 4 5, b')).connIds, [0, 1, 2, 3, 4, 5]);
  });

  test('rejects 129 targets and accepts 128', () => {
    const ids = range(1, 129).join(' ');
    assert.throws(() => parseReply(Buffer.from(`a ${ids.length}:${ids}, x`)), /too many targets: 129 > 128/);
    const ok = range(1, 128).join(' ');
    assert.equal(parseReply(Buffer.from(`a ${ok.length}:${ok}, x`)).connIds.length, 128);
  });

  test('rejects ids above uint32', () => {
    assert.throws(() => parseReply(Buffer.from('a 10:4294967296, x')), /exceeds uint32/);
  });
});

describe('large bodies with headroom', () => {
  const SENDER = '34f9ceee-cd52-4b7f-b197-88bf2f0ec378';
  const bigBody = (n: number): Buffer => {
    const b = allocWithHeadroom(n);
    for (let i = 0; i < n; i++) b[i] = i % 251;
    return b;
  };

  test('the prefix goes into the headroom: same bytes as a copy, no new backing store', () => {
    const body = bigBody(HEADROOM_MIN_BYTES + 10);
    const copy = Buffer.from(body); // a plain buffer: the copying path
    const [inPlace] = encodeReply(SENDER, [36], body);
    const [copied] = encodeReply(SENDER, [36], copy);
    assert.ok(inPlace !== undefined && copied !== undefined);
    assert.ok(inPlace.equals(copied));
    assert.equal(inPlace.buffer, body.buffer, 'written in place');
    assert.notEqual(copied.buffer, copy.buffer);
    assert.deepEqual(parseReply(inPlace).connIds, [36]);
  });

  test('headroom is used once: a second reply of the same body is a copy and leaves the first intact', () => {
    const body = bigBody(HEADROOM_MIN_BYTES);
    const [first] = encodeReply(SENDER, [1], body);
    const snapshot = Buffer.from(first!);
    const [second] = encodeReply(SENDER, [2000000], body);
    assert.notEqual(second!.buffer, body.buffer);
    assert.ok(first!.equals(snapshot));
    assert.deepEqual(parseReply(second!).connIds, [2000000]);
  });

  test('the latest small buffer is written in place too; an older one, or its second reply, is copied', () => {
    const older = allocWithHeadroom(100).fill(2);
    const small = allocWithHeadroom(100).fill(1);
    const [inPlace] = encodeReply(SENDER, [1], small);
    assert.equal(inPlace!.buffer, small.buffer, 'written in place');
    assert.equal(inPlace!.byteOffset + inPlace!.length, small.byteOffset + small.length);
    assert.ok(inPlace!.equals(encodeReply(SENDER, [1], Buffer.from(small))[0]!));
    assert.deepEqual(parseReply(inPlace!).body, small);
    const [again] = encodeReply(SENDER, [2], small);
    assert.ok(again!.byteOffset + again!.length !== small.byteOffset + small.length || again!.buffer !== small.buffer, 'second reply is a copy');
    assert.deepEqual(parseReply(again!).connIds, [2]);
    assert.ok(inPlace!.equals(encodeReply(SENDER, [1], Buffer.from(small))[0]!), 'first reply left intact');
    const [copiedOlder] = encodeReply(SENDER, [1], older);
    assert.ok(copiedOlder!.byteOffset + copiedOlder!.length !== older.byteOffset + older.length || copiedOlder!.buffer !== older.buffer);
    assert.deepEqual(parseReply(copiedOlder!).body, older);
  });

  test('slices, several messages and an oversized prefix take the copying path', () => {
    const slice = bigBody(HEADROOM_MIN_BYTES * 2).subarray(1);
    assert.notEqual(encodeReply(SENDER, [1], slice)[0]!.buffer, slice.buffer);
    const many = bigBody(HEADROOM_MIN_BYTES);
    const ids = Array.from({ length: MAX_REPLY_TARGETS + 1 }, (_, i) => i);
    const split = encodeReply(SENDER, ids, many);
    assert.equal(split.length, 2);
    for (const m of split) assert.notEqual(m.buffer, many.buffer);
    const longSender = 'a'.repeat(REPLY_HEADROOM);
    const body = bigBody(HEADROOM_MIN_BYTES);
    const [msg] = encodeReply(longSender, [1], body);
    assert.notEqual(msg!.buffer, body.buffer);
    assert.equal(parseReply(msg!).sender, longSender);
  });
});

test('repliesOnlyTo: a reply to exactly the connection a request came from, compared in place (#18)', () => {
  const sender = '34f9ceee-cd52-4b7f-b197-88bf2f0ec378';
  const request = Buffer.from(`${sender} 36 /path 2:{},0:,`);
  const senderEnd = sender.length;
  const idEnd = senderEnd + 3;
  const to = (frame: Buffer | string): boolean => repliesOnlyTo(Buffer.from(frame), request, senderEnd, idEnd);
  for (const ok of [encodeReply(sender, [36], 'HTTP/1.1 200 OK\r\n\r\n')[0]!, encodeClose(sender, [36])[0]!, encodeCtl(sender, [36], { 'keep-alive': null })[0]!]) {
    assert.equal(to(ok), true, ok.toString('latin1'));
    assert.deepEqual(parseReply(ok).connIds, [36], 'and Mongrel2 reads it the same way');
  }
  for (const bad of [
    encodeReply(sender, [37], 'x')[0]!,
    encodeReply(sender, [3], 'x')[0]!,
    encodeReply(sender, [366], 'x')[0]!,
    encodeReply(sender, [36, 37], 'x')[0]!,
    encodeReply(sender.replace('3', '4'), [36], 'x')[0]!,
    `${sender}x 2:36, x`,
    `${sender} 3:36 , x`,
    `${sender} 3:036, x`,
    `${sender} 2:36 x`,
    `${sender} 2:36,x`,
    `${sender} 2:36`,
    `${sender}  2:36, x`,
    `${sender} 4:X 36 x`,
    '',
  ]) {
    assert.equal(to(bad), false, Buffer.from(bad).toString('latin1'));
  }
});
