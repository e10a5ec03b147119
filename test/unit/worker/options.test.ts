import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFlags } from '../../../src/config/flags';
import { readWorkerOptions, WORKER_FLAGS } from '../../../src/worker/options';

const BASE = ['--app', 'x', '--send-spec', 'ipc:///a', '--recv-spec', 'ipc:///b'];
const read = (...extra: string[]): ReturnType<typeof readWorkerOptions> => readWorkerOptions(parseFlags([...BASE, ...extra], WORKER_FLAGS).values);

test('--upload-store gives the template; --upload-dir DIR stands for DIR/upload.XXXXXX; neither refuses uploads', () => {
  assert.deepEqual(read('--upload-store', '/run/tmp/up.XXXXXX', '--upload-threshold', '100').uploadStore, { template: '/run/tmp/up.XXXXXX', dir: '/run/tmp', prefix: 'up.', threshold: 100 });
  assert.deepEqual(read('--upload-dir', '/run/tmp').uploadStore, { template: '/run/tmp/upload.XXXXXX', dir: '/run/tmp', prefix: 'upload.', threshold: 20480 });
  assert.equal(read('--upload-store', '/a/upload.XXXXXX', '--upload-dir', '/b').uploadStore?.dir, '/a', '--upload-store wins');
  assert.equal(read().uploadStore, undefined);
  assert.throws(() => read('--upload-store', '/run/tmp/upload'), /must end in XXXXXX/);
});
