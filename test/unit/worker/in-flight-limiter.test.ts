import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InFlightLimiter } from '../../../src/worker/in-flight-limiter';

test('tryAcquire takes free slots and refuses at the cap; acquire waits FIFO for released slots', async () => {
  const limiter = new InFlightLimiter(2);
  assert.equal(limiter.tryAcquire(), true);
  await limiter.acquire();
  assert.equal(limiter.used, 2);
  assert.equal(limiter.tryAcquire(), false);
  const order: string[] = [];
  const first = limiter.acquire().then(() => order.push('first'));
  const second = limiter.acquire().then(() => order.push('second'));
  limiter.release();
  await first;
  assert.deepEqual(order, ['first']);
  assert.equal(limiter.used, 2, 'a released slot goes straight to the oldest waiter');
  limiter.release();
  await second;
  assert.deepEqual(order, ['first', 'second']);
  limiter.release();
  limiter.release();
  assert.equal(limiter.used, 0);
  assert.equal(limiter.tryAcquire(), true);
});

test('a capacity below 1 is refused', () => {
  assert.throws(() => new InFlightLimiter(0), RangeError);
});
