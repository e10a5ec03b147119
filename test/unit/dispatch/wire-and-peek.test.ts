/**
 * The worker ⇄ dispatcher batch codec, and the dispatcher's lazy reading of Mongrel2 requests (checked against
 * the messages captured from a real Mongrel2 and against the full parser).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isDisconnectNotice, peekConnection, peekMethod } from '../../../src/protocol/frame-peek';
import { parseMessage } from '../../../src/protocol/request-parser';
import { classify } from '../../../src/protocol/classify';
import { BatchWriter, Command, readBatch, Tag, toDispatcherHasPayload, toWorkerHasPayload } from '../../../src/protocol/dispatch-wire';
import { loadManifest, loadVector } from '../protocol/vector-fixtures';

describe('batch codec', () => {
  test('entries and payloads round-trip, payloads byte for byte', () => {
    const writer = new BatchWriter();
    const big = Buffer.alloc(5000, 7);
    writer.add(Tag.REQUEST, 0xfffffffe, 3, Buffer.from('first'));
    writer.add(Tag.NOTICE, 0, 1, big);
    for (let i = 0; i < 40; i += 1) writer.add(Tag.REQUEST, i, 0, Buffer.from(`r${i}`)); // grows the index
    const frames = writer.take();
    assert.equal(frames.length, 3);
    assert.equal(frames[0]?.[0], Command.BATCH);
    assert.equal(writer.entries, 0, 'take() starts a new batch');
    const seen: Array<[number, number, number, string]> = [];
    const problem = readBatch(frames, 0, toWorkerHasPayload, (tag, id, server, payload) => seen.push([tag, id, server, payload?.toString('latin1') ?? '']));
    assert.equal(problem, undefined);
    assert.equal(seen.length, 42);
    assert.deepEqual(seen[0], [Tag.REQUEST, 0xfffffffe, 3, 'first']);
    assert.deepEqual(seen[1], [Tag.NOTICE, 0, 1, big.toString('latin1')]);
    assert.deepEqual(seen[41], [Tag.REQUEST, 39, 0, 'r39']);
  });

  test('entries without payload (DONE, retry hints) carry none', () => {
    const writer = new BatchWriter();
    writer.add(Tag.REPLY, 5, 0, Buffer.from('reply'));
    writer.add(Tag.DONE, 5, 0);
    writer.add(Tag.RETRY_NO, 6, 0);
    const seen: string[] = [];
    assert.equal(readBatch(writer.take(), 0, toDispatcherHasPayload, (tag, id, _s, p) => seen.push(`${String.fromCharCode(tag)}${id}:${p?.toString() ?? '-'}`)), undefined);
    assert.deepEqual(seen, ['R5:reply', 'D5:-', 'N6:-']);
  });

  test('malformed batches are reported, never thrown', () => {
    const visit = (): void => undefined;
    const cmd = Buffer.from([Command.BATCH]);
    assert.match(readBatch([cmd], 0, toWorkerHasPayload, visit) ?? '', /index missing/);
    assert.match(readBatch([cmd, Buffer.alloc(5), Buffer.alloc(0)], 0, toWorkerHasPayload, visit) ?? '', /multiple of 11/);
    const index = Buffer.alloc(11);
    index[0] = Tag.REQUEST;
    index.writeUInt32BE(100, 7);
    assert.match(readBatch([cmd, index, Buffer.alloc(10)], 0, toWorkerHasPayload, visit) ?? '', /runs past/);
    assert.match(readBatch([cmd, Buffer.alloc(0), Buffer.alloc(3)], 0, toWorkerHasPayload, visit) ?? '', /without an index entry/);
    assert.match(readBatch([cmd, Buffer.alloc(0)], 0, toWorkerHasPayload, visit) ?? '', /three frames/);
  });
});

describe('frame peek', () => {
  const requests = loadManifest().filter((v) => v.file.includes('req'));

  test('sender, connection id, METHOD and disconnect notices agree with the full parser on every captured request', () => {
    assert.ok(requests.length > 10);
    for (const v of requests) {
      const frame = loadVector(v.file);
      const peeked = peekConnection(frame);
      const msg = parseMessage(frame);
      assert.ok(peeked !== undefined, v.file);
      assert.equal(peeked.connection, `${msg.sender} ${msg.connId}`, v.file);
      const method = msg.headers['METHOD'];
      assert.equal(peekMethod(frame, peeked.pathAt), typeof method === 'string' ? method : '', v.file);
      assert.equal(isDisconnectNotice(frame, peeked.pathAt), classify(msg).kind === 'disconnect', v.file);
    }
  });

  test('frames that do not start like a Mongrel2 message are refused', () => {
    for (const bad of ['', 'nospace', ' 12 /p', 'uuid  /p', 'uuid 123456789012 /p']) assert.equal(peekConnection(Buffer.from(bad)), undefined, bad);
  });
});
