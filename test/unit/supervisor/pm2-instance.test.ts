/** `pm2 scale m2pool N`: instance i serves its admin API on the configured port + i. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminForPm2Instance } from '../../../src/supervisor/control/pm2-instance';

test('pm2 instance i gets the admin port + i; outside pm2, instance 0 and port 0 keep the address', () => {
  assert.equal(adminForPm2Instance('127.0.0.1:9890', { pm_id: '4', NODE_APP_INSTANCE: '2' }), '127.0.0.1:9892');
  assert.equal(adminForPm2Instance('[::1]:9890', { pm_id: '4', NODE_APP_INSTANCE: '1' }), '[::1]:9891');
  assert.equal(adminForPm2Instance('127.0.0.1:9890', { pm_id: '2', NODE_APP_INSTANCE: '0' }), '127.0.0.1:9890');
  assert.equal(adminForPm2Instance('127.0.0.1:9890', { NODE_APP_INSTANCE: '3' }), '127.0.0.1:9890', 'not under pm2');
  assert.equal(adminForPm2Instance('127.0.0.1:0', { pm_id: '4', NODE_APP_INSTANCE: '2' }), '127.0.0.1:0');
});
