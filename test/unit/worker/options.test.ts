import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFlags } from '../../../src/config/flags';
import { uploadStoreOf } from '../../../src/config/upload-template';
import { readWorkerConfig, WORKER_FLAGS } from '../../../src/worker/options';

const BASE = ['--app', 'x', '--send-spec', 'ipc:///a', '--recv-spec', 'ipc:///b'];
const read = (...extra: string[]): ReturnType<typeof readWorkerConfig> => readWorkerConfig(parseFlags([...BASE, ...extra], WORKER_FLAGS).values);
/** The upload store the worker runs with (its configuration names the template and threshold). */
const store = (...extra: string[]): ReturnType<typeof uploadStoreOf> => uploadStoreOf(read(...extra));

test('--upload-store gives the template; --upload-dir DIR stands for DIR/upload.XXXXXX; neither refuses uploads', () => {
  assert.deepEqual(store('--upload-store', '/run/tmp/up.XXXXXX', '--upload-threshold', '100'), { template: '/run/tmp/up.XXXXXX', dir: '/run/tmp', prefix: 'up.', threshold: 100 });
  assert.deepEqual(store('--upload-dir', '/run/tmp'), { template: '/run/tmp/upload.XXXXXX', dir: '/run/tmp', prefix: 'upload.', threshold: 20480 });
  assert.equal(store('--upload-store', '/a/upload.XXXXXX', '--upload-dir', '/b')?.dir, '/a', '--upload-store wins');
  assert.equal(store(), undefined);
  assert.throws(() => read('--upload-store', '/run/tmp/upload'), /must end in XXXXXX/);
});
