import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { methodLabel, statusClassOf } from '../../../src/metrics';

describe('methodLabel', () => {
  test('keeps standard methods, upper-cased', () => {
    for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']) {
      assert.equal(methodLabel(m), m);
      assert.equal(methodLabel(m.toLowerCase()), m);
    }
  });

  test('maps Mongrel2 socket methods, extension methods and garbage to OTHER', () => {
    for (const m of ['JSON', 'XML', 'PROPFIND', 'Get', '', 'GET ', 'x'.repeat(1000)]) assert.equal(methodLabel(m), 'OTHER');
  });
});

describe('statusClassOf', () => {
  test('uses the hundreds digit of a valid status', () => {
    const cases: Array<[number, string]> = [
      [100, '1xx'],
      [199, '1xx'],
      [200, '2xx'],
      [304, '3xx'],
      [404, '4xx'],
      [499, '4xx'],
      [500, '5xx'],
      [504, '5xx'],
      [599, '5xx'],
    ];
    for (const [status, cls] of cases) assert.equal(statusClassOf(status, 'response'), cls, String(status));
  });

  test('is none for statuses outside 100..599', () => {
    for (const status of [0, 99, 600, 1000, -1, NaN, Infinity]) assert.equal(statusClassOf(status, 'response'), 'none', String(status));
  });

  test('is none when no response reached the client, whatever the status', () => {
    assert.equal(statusClassOf(200, 'aborted'), 'none');
    assert.equal(statusClassOf(500, 'closed'), 'none');
  });

  test('counts worker-made answers by their status (timeout 504, error 500)', () => {
    assert.equal(statusClassOf(504, 'timeout'), '5xx');
    assert.equal(statusClassOf(500, 'error'), '5xx');
  });
});
