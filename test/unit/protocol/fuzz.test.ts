/**
 * Randomized robustness tests with fixed seeds (reproducible): on arbitrary bytes the decoders either return a value
 * or throw a ProtocolError with an in-range offset, never anything else; classify never throws at all.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProtocolError } from '../../../src/errors';
import { classify } from '../../../src/protocol/classify';
import { parseReply } from '../../../src/protocol/reply-writer';
import { parseMessage } from '../../../src/protocol/request-parser';
import { decode, decodeAll, encode } from '../../../src/protocol/tnetstring';
import type { TnetInput } from '../../../src/protocol/tnetstring';
import { loadVector, seededRandom, vectorFiles } from './vector-fixtures';

const ITERATIONS = 4000;
/** Bytes that matter to the grammars, so random inputs get past the first check often. */
const ALPHABET = Buffer.from('0123456789:,#^!~}]- XtrueflsnaI@*{}"\\\t\x00\xff\xe9');

type Rng = () => number;
const int = (rnd: Rng, n: number): number => Math.floor(rnd() * n);

function randomBytes(rnd: Rng, maxLen: number): Buffer {
  const out = Buffer.alloc(int(rnd, maxLen + 1));
  for (let i = 0; i < out.length; i++) out[i] = rnd() < 0.8 ? ALPHABET[int(rnd, ALPHABET.length)]! : int(rnd, 256);
  return out;
}

/** A length-prefixed frame with a random (often wrong) tag and payload: exercises the per-type payload checks. */
function randomFrame(rnd: Rng): Buffer {
  const payload = rnd() < 0.3 ? Buffer.from(['true', 'false', '-12', '1.5e3', '', 'nan', '0:~'][int(rnd, 7)]!) : randomBytes(rnd, 6);
  const tag = ',#^!~}]'[int(rnd, 7)]!;
  return Buffer.concat([Buffer.from(`${payload.length}:`), payload, Buffer.from(tag), randomBytes(rnd, 1)]);
}

function randomValue(rnd: Rng, depth: number): TnetInput {
  const pick = int(rnd, depth > 3 ? 6 : 8);
  switch (pick) {
    case 0:
      return randomBytes(rnd, 12);
    case 1:
      return int(rnd, 2_000_000) - 1_000_000;
    case 2:
      return (rnd() - 0.5) * 1e6;
    case 3:
      return rnd() < 0.5;
    case 4:
      return null;
    case 5:
      return BigInt(int(rnd, 1000)) * 10n ** 20n;
    case 6:
      return Array.from({ length: int(rnd, 4) }, () => randomValue(rnd, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: int(rnd, 4) }, (_, i) => [`k${i}`, randomValue(rnd, depth + 1)]));
  }
}

/** One random edit: flip, insert, delete, truncate, or bump a digit. */
function mutate(rnd: Rng, input: Buffer): Buffer {
  const buf = Buffer.from(input);
  const at = int(rnd, Math.max(buf.length, 1));
  switch (int(rnd, 5)) {
    case 0:
      if (buf.length > 0) buf[at] = ALPHABET[int(rnd, ALPHABET.length)]!;
      return buf;
    case 1:
      return Buffer.concat([buf.subarray(0, at), randomBytes(rnd, 3), buf.subarray(at)]);
    case 2:
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1 + int(rnd, 3))]);
    case 3:
      return buf.subarray(0, at);
    default: {
      const digits = [...buf.keys()].filter((i) => buf[i]! >= 0x30 && buf[i]! <= 0x39);
      const d = digits[int(rnd, digits.length)];
      if (d !== undefined) buf[d] = 0x30 + int(rnd, 10);
      return buf;
    }
  }
}

/** Runs `fn`; if it throws, the error must be a ProtocolError whose offset lies within the input. */
function valueOrProtocolError(input: Buffer, fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ProtocolError)) {
      assert.fail(`non-ProtocolError for ${JSON.stringify(input.toString('latin1'))}: ${String(err)}`);
    }
    assert.ok(err.offset >= 0 && err.offset <= input.length, `offset ${err.offset} outside 0..${input.length}`);
    return err;
  }
}

describe('fuzz (fixed seeds)', () => {
  test('tnetstring decode of random bytes yields a value or a ProtocolError', () => {
    const rnd = seededRandom(0x6d327031);
    let values = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = rnd() < 0.5 ? randomBytes(rnd, 24) : randomFrame(rnd);
      if (!(valueOrProtocolError(input, () => decode(input)) instanceof ProtocolError)) values++;
      valueOrProtocolError(input, () => decodeAll(input, { maxDepth: 2 }));
    }
    assert.ok(values > 0, 'the generator should produce some valid tnetstrings');
  });

  test('random values round-trip, and mutations of their encodings yield a value or a ProtocolError', () => {
    const rnd = seededRandom(42);
    let errors = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const encoded = encode(randomValue(rnd, 0));
      assert.deepEqual(encode(decodeAll(encoded)), encoded);
      let input = encoded;
      for (let k = 1 + int(rnd, 3); k > 0; k--) input = mutate(rnd, input);
      if (valueOrProtocolError(input, () => decodeAll(input)) instanceof ProtocolError) errors++;
    }
    assert.ok(errors > ITERATIONS / 4, `mutations should mostly be rejected (${errors})`);
  });

  test('parseMessage on mutated captured requests yields a message or a ProtocolError, and classify never throws', () => {
    const rnd = seededRandom(7);
    const requests = vectorFiles()
      .filter((f) => f.includes('-req') || f.includes('notice'))
      .map(loadVector);
    const kinds = new Set<string>();
    for (let i = 0; i < ITERATIONS; i++) {
      let input = requests[int(rnd, requests.length)]!;
      for (let k = 1 + int(rnd, 2); k > 0; k--) input = mutate(rnd, input);
      const result = valueOrProtocolError(input, () => parseMessage(input));
      if (result instanceof ProtocolError) continue;
      const msg = parseMessage(input);
      for (const uploadDir of [undefined, '/tmp']) kinds.add(classify(msg, { uploadDir }).kind);
    }
    assert.ok(kinds.has('invalid') && kinds.has('request'), [...kinds].join(','));
  });

  test('parseReply on random and mutated replies yields a reply or a ProtocolError', () => {
    const rnd = seededRandom(99);
    const replies = vectorFiles()
      .filter((f) => f.includes('-resp') || f.includes('ctl_'))
      .map(loadVector);
    for (let i = 0; i < ITERATIONS; i++) {
      const input = rnd() < 0.3 ? randomBytes(rnd, 30) : mutate(rnd, replies[int(rnd, replies.length)]!);
      valueOrProtocolError(input, () => parseReply(input));
    }
  });
});
