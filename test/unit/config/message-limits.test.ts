/**
 * ZeroMQ's maximum message sizes (issue 18, item 6): the Mongrel2 bound follows Mongrel2's limits, and the pool
 * hands its forked dispatcher the same bound its workers derive.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dispatcherBatchBytes, mongrel2MessageBytes, requestBytesOf } from '../../../src/config/message-limits';
import { validateConfig } from '../../../src/config/validate';
import { workerConfigOf } from '../../../src/config/worker-config-of';
import { readDispatcherOptions } from '../../../src/dispatch/options';
import { dispatcherArgs } from '../../../src/supervisor/arbiter/spawn';

test("the bound from Mongrel2 is the larger of content_length and a 1 MiB WebSocket message, plus headers", () => {
  assert.equal(mongrel2MessageBytes(), 1_048_576 + 8 * 4_096 + 65_536);
  assert.equal(mongrel2MessageBytes(20_480), mongrel2MessageBytes());
  assert.equal(mongrel2MessageBytes(8_000_000), 8_000_000 + 8 * 4_096 + 65_536, 'a raised content_length raises it');
  assert.equal(dispatcherBatchBytes(64, 1_000_000), 64_000_000 + 65_536);
  assert.equal(requestBytesOf({ uploadThreshold: 8_000_000 }), mongrel2MessageBytes(8_000_000));
  assert.equal(requestBytesOf({ uploadThreshold: 8_000_000, maxRequestBytes: 3_000_000 }), 3_000_000, 'the setting wins');
});

test('the forked dispatcher takes the requests its workers take; the dispatcher flags have their defaults and ranges', () => {
  const pool = validateConfig({ app: 'a', runDir: '/tmp/m2p-limits', uploadThreshold: 5_000_000 });
  const args = dispatcherArgs(pool);
  assert.equal(args[args.indexOf('--max-request-bytes') + 1], String(requestBytesOf(workerConfigOf(pool))));
  const specs = { 'send-spec': ['ipc:///tmp/req'], 'recv-spec': ['ipc:///tmp/rep'] };
  const o = readDispatcherOptions(specs);
  assert.deepEqual([o.maxRequestBytes, o.maxMessageBytes], [mongrel2MessageBytes(), 64 * 1_048_576]);
  assert.throws(() => readDispatcherOptions({ ...specs, 'max-message-bytes': '100' }), /--max-message-bytes must be an integer from 65536/);
});
