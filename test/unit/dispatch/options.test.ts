/**
 * Flags of `m2pool dispatcher` and the worker's `--dispatcher`: defaults, every problem reported at once, and the
 * rule that a tcp:// endpoint needs CURVE keys unless `--insecure`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../../../src/config/flags';
import { readDispatcherOptions } from '../../../src/dispatch/options';
import { readWorkerConfig } from '../../../src/worker/options';

const SPECS = { 'send-spec': ['ipc:///tmp/req'], 'recv-spec': ['ipc:///tmp/rep'] };

test('dispatcher defaults: an ipc endpoint in the run directory, queue 1000 / 30 s, heartbeat 1 s / 3 s', () => {
  const o = readDispatcherOptions({ ...SPECS, 'run-dir': 'some/run' });
  assert.equal(o.bind, `ipc://${path.resolve('some/run', 'dispatch.sock')}`);
  assert.equal(o.queueLimit, 1_000);
  assert.equal(o.queueTimeoutMs, 30_000);
  assert.equal(o.heartbeatIntervalMs, 1_000);
  assert.equal(o.heartbeatTimeoutMs, 3_000);
  assert.equal(o.receiveHwm, 100);
  assert.equal(o.insecure, false);
});

test('load shedding and worker limits (#18): backlog 4 × the queue limit unless given and never below it; credit cap 1024; request timeout 60 s', () => {
  const o = readDispatcherOptions({ ...SPECS });
  assert.deepEqual([o.backlogLimit, o.maxWorkerCredit, o.requestTimeoutMs], [4_000, 1_024, 60_000]);
  assert.equal(readDispatcherOptions({ ...SPECS, 'queue-limit': '10' }).backlogLimit, 40);
  const set = readDispatcherOptions({ ...SPECS, 'queue-limit': '10', 'backlog-limit': '10', 'max-worker-credit': '3', 'request-timeout-ms': '1500' });
  assert.deepEqual([set.backlogLimit, set.maxWorkerCredit, set.requestTimeoutMs], [10, 3, 1_500]);
  assert.throws(() => readDispatcherOptions({ ...SPECS, 'queue-limit': '10', 'backlog-limit': '9' }), /--backlog-limit \(9\) must be at least --queue-limit \(10\)/);
  assert.throws(() => readDispatcherOptions({ ...SPECS, 'max-worker-credit': '0' }), /max-worker-credit/);
});

test('a tcp:// bind needs CURVE keys (both files) unless --insecure; problems are listed together', () => {
  assert.throws(() => readDispatcherOptions({ ...SPECS, bind: 'tcp://0.0.0.0:9899' }), /refusing to bind tcp:\/\/0\.0\.0\.0:9899 without CURVE keys/);
  assert.equal(readDispatcherOptions({ ...SPECS, bind: 'tcp://0.0.0.0:9899', insecure: true }).insecure, true);
  const keyed = readDispatcherOptions({ ...SPECS, bind: 'tcp://0.0.0.0:9899', 'curve-secret-file': 'd.key', 'curve-authorized-dir': 'workers' });
  assert.equal(keyed.curveAuthorizedDir, 'workers');
  assert.throws(
    () => readDispatcherOptions({ 'send-spec': ['a'], bind: 'udp://x', 'curve-secret-file': 'd.key', 'heartbeat-timeout-ms': '500' }),
    (err: unknown) =>
      err instanceof UsageError &&
      /matching --recv-spec/.test(err.message) &&
      /go together/.test(err.message) &&
      /--bind must be ipc/.test(err.message) &&
      /heartbeat-timeout-ms must be longer/.test(err.message),
  );
});

test('worker: --dispatcher replaces --send-spec/--recv-spec, and excludes them', () => {
  const o = readWorkerConfig({ app: 'x', dispatcher: 'ipc:///tmp/d.sock' });
  assert.deepEqual(o.dispatcher, { endpoint: 'ipc:///tmp/d.sock' });
  assert.deepEqual(o.sendSpecs, []);
  assert.throws(() => readWorkerConfig({ app: 'x', dispatcher: 'ipc:///tmp/d.sock', ...SPECS }), /mutually exclusive/);
  assert.throws(() => readWorkerConfig({ app: 'x', dispatcher: 'tcp://h:1', 'curve-secret-file': 'w.key' }), /go together/);
  assert.throws(() => readWorkerConfig({ app: 'x', 'curve-secret-file': 'w.key', ...SPECS }), /need --dispatcher/);
  assert.throws(() => readWorkerConfig({ app: 'x', 'mongrel2-config': '/nonexistent/mongrel2.conf' }), /no --send-spec\/--recv-spec given, and mongrel2 config \/nonexistent\/mongrel2.conf: cannot read it/);
});

test('dispatcher --admin tokens follow the pool admin rules: required off loopback, >= 16 chars, one of token or file', async (t) => {
  const off = { ...SPECS, admin: '0.0.0.0:9900' };
  assert.throws(() => readDispatcherOptions(off), /--admin-token is required when admin listens on a non-loopback address \(0\.0\.0\.0:9900\)/);
  assert.throws(() => readDispatcherOptions({ ...off, 'admin-token': 'short' }), /--admin-token must be at least 16 characters/);
  assert.throws(() => readDispatcherOptions({ ...off, 'admin-token': 'with space in it 0123' }), /--admin-token must be visible ASCII/);
  const o = readDispatcherOptions({ ...off, 'admin-token': 'a-token-of-24-characters', 'metrics-token': 'scrape-token-of-24-chars' });
  assert.deepEqual([o.adminToken, o.metricsToken], ['a-token-of-24-characters', 'scrape-token-of-24-chars']);
  const loopback = readDispatcherOptions({ ...SPECS, admin: '127.0.0.1:9900' });
  assert.deepEqual([loopback.adminToken, loopback.metricsToken], ['', '']);
  assert.throws(() => readDispatcherOptions({ ...SPECS, 'admin-token': 'a-token-of-24-characters' }), /need --admin/);

  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-opt-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'token');
  await writeFile(file, 'a-token-from-a-file-0123\n');
  assert.equal(readDispatcherOptions({ ...off, 'admin-token-file': file }).adminToken, 'a-token-from-a-file-0123');
  assert.throws(() => readDispatcherOptions({ ...off, 'admin-token-file': file, 'admin-token': 'a-token-of-24-characters' }), /give one of them, not both/);
  assert.throws(() => readDispatcherOptions({ ...off, 'admin-token-file': path.join(dir, 'none') }), /--admin-token-file: cannot read .*no such file/);
});
