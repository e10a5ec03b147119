/**
 * The dispatcher's lazy read of a request's id agrees with the worker's (`Request.requestId`) on tnetstring frames
 * (what Mongrel2 1.12 sends) and JSON ones, and never reads the body.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { peekConnection, peekRequestId } from '../../../src/dispatch/frame-peek';
import { Request } from '../../../src/http/request';
import { parseMessage } from '../../../src/protocol/request-parser';
import { mongrel2Frame, TEST_SENDER } from '../../helpers/mongrel2-frames';

const TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function peek(frame: Buffer): string | undefined {
  const peeked = peekConnection(frame);
  assert.ok(peeked !== undefined);
  return peekRequestId(frame, peeked.pathAt);
}

/** The same request with JSON headers (Mongrel2's `protocol = 'json'`). */
function jsonFrame(headers: Record<string, string | string[]>, body = ''): Buffer {
  const h = JSON.stringify({ PATH: '/', METHOD: 'GET', VERSION: 'HTTP/1.1', URI: '/', ...headers });
  return Buffer.from(`${TEST_SENDER} 7 / ${Buffer.byteLength(h)}:${h},${Buffer.byteLength(body)}:${body},`, 'latin1');
}

describe('peekRequestId', () => {
  const cases: Array<[string, Record<string, string>, string | undefined]> = [
    ['a valid x-request-id', { 'x-request-id': 'abc-123' }, 'abc-123'],
    ['an invalid x-request-id falls back to traceparent', { 'x-request-id': 'has space', traceparent: TRACE }, '4bf92f3577b34da6a3ce929d0e0e4736'],
    ['x-request-id wins over traceparent', { 'x-request-id': 'mine', traceparent: TRACE }, 'mine'],
    ['a traceparent alone', { traceparent: TRACE }, '4bf92f3577b34da6a3ce929d0e0e4736'],
    ['an invalid traceparent', { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }, undefined],
    ['neither', {}, undefined],
    ['a too long id', { 'x-request-id': 'x'.repeat(129) }, undefined],
  ];
  for (const [name, headers, expected] of cases) {
    test(`${name}: tnetstring and JSON frames, as the worker reads it`, () => {
      const tnet = mongrel2Frame({ connId: 7, headers });
      assert.equal(peek(tnet), expected);
      assert.equal(peek(jsonFrame(headers)), expected);
      const worker = new Request(parseMessage(tnet), { requestIdHeader: 'X-Request-Id' }).requestId;
      if (expected !== undefined) assert.equal(worker, expected);
      else assert.notEqual(worker, headers['x-request-id']);
    });
  }

  test('reads only the headers, never the body', () => {
    assert.equal(peek(mongrel2Frame({ connId: 7, body: '12:x-request-id,4:evil,' })), undefined);
    assert.equal(peek(jsonFrame({}, '"x-request-id":"evil"')), undefined);
  });

  test('a repeated header is absent, as in the worker', () => {
    assert.equal(peek(jsonFrame({ 'x-request-id': ['a', 'b'] })), undefined);
  });
});
