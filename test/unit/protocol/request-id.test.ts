import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildRawMessage } from '../../../src/app/testing/testing';
import { Request } from '../../../src/http/request';
import { dispatchedRequestId, incomingRequestId, isValidRequestId, newRequestId, parseTraceparent } from '../../../src/protocol/request-id';

describe('request ids', () => {
  test('client ids: bounded length, safe characters only', () => {
    for (const ok of ['a', 'abc-123', '550e8400-e29b-41d4-a716-446655440000', 'host/42', 'x_y.z:1+2=3@q', 'a'.repeat(128)]) assert.ok(isValidRequestId(ok), ok);
    for (const bad of ['', 'a'.repeat(129), 'has space', 'quote"', 'new\nline', 'tab\t', 'comma,', 'é', '<script>']) assert.ok(!isValidRequestId(bad), bad);
  });

  test('traceparent: W3C version 00 and later versions; invalid ones are ignored', () => {
    assert.deepEqual(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      flags: 1,
      version: 0,
    });
    assert.equal(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra')?.version, 1);
    for (const bad of [
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', // version 00 has four fields
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      'garbage',
    ]) assert.equal(parseTraceparent(bad), undefined, bad);
  });

  test('incoming id: x-request-id, else traceparent, else none; a repeated header is absent', () => {
    const trace = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    assert.equal(incomingRequestId('mine', trace), 'mine');
    assert.equal(incomingRequestId('bad id', trace), '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(incomingRequestId(['a', 'b'], undefined), undefined);
    assert.equal(incomingRequestId(undefined, undefined), undefined);
  });

  test('made ids are valid, distinct, and share this process prefix', () => {
    const ids = Array.from({ length: 1000 }, () => newRequestId());
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) assert.ok(isValidRequestId(id), id);
    assert.equal(new Set(ids.map((id) => id.slice(0, id.lastIndexOf('-')))).size, 1);
  });
});

describe('ids of dispatched requests', () => {
  test('the dispatcher number as 8 hex digits, valid as a request id, and what Request uses when the client sent none', () => {
    assert.equal(dispatchedRequestId(0x1a2b), 'd00001a2b');
    assert.equal(dispatchedRequestId(0xffffffff), 'dffffffff');
    assert.ok(isValidRequestId(dispatchedRequestId(7)));
    const source = { madeRequestId: () => dispatchedRequestId(7) };
    const options = { requestIdHeader: 'X-Request-Id' };
    assert.equal(new Request(buildRawMessage('/'), options, source).requestId, 'd00000007');
    assert.equal(new Request(buildRawMessage('/', { headers: { 'x-request-id': 'mine' } }), options, source).requestId, 'mine');
  });
});
