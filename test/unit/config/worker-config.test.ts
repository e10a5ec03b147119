/**
 * The worker-configuration contract (docs/architecture.md, "The worker contract"): the supervisor derives a
 * complete WorkerConfig from the pool configuration, hands it to the forked worker whole, and the worker reads
 * back exactly that; `m2pool worker` flags parse into the same type; a broken handover is a clear usage error.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { parseFlags, UsageError } from '../../../src/config/flags';
import type { PoolConfig } from '../../../src/config/schema';
import { forkedDispatcherBind, validateConfig } from '../../../src/config/validate';
import { WORKER_DEFAULTS, type WorkerConfig } from '../../../src/config/worker-config';
import { decodeWorkerConfig, encodeWorkerConfig, WORKER_CONFIG_ENV } from '../../../src/config/worker-config-codec';
import { workerConfigOf } from '../../../src/config/worker-config-of';
import { ConfigError, ExitCode } from '../../../src/errors';
import { childExtraEnvironment, spawnRequest, workerEnvironment } from '../../../src/supervisor/arbiter/spawn';
import { readWorkerConfig, WORKER_FLAGS } from '../../../src/worker/options';
import { CLI, spawnNode } from '../../helpers/processes';

/** Every worker setting a pool file can hold, set away from its default. */
const ALL_SET = {
  maxInFlight: 8, receiveHwm: 4, requestTimeoutMs: 9_000, maxRequestBytes: 2_000_000, uploadStore: '/srv/up/upload.XXXXXX', uploadThreshold: 100,
  requestLogLevel: 'info', metrics: 'off', logLevel: 'warn', drainTimeoutMs: 5_000, bootTimeoutMs: 7_000, heartbeatIntervalMs: 200,
} as const;

/** What a forked worker reads: the spawn request as `forkWorker` turns it into argv and environment. */
function received(pool: PoolConfig): WorkerConfig {
  const req = spawnRequest(pool, 1, 3);
  const env = workerEnvironment({ PATH: '/bin', M2POOL_WORKER_CONFIG: 'the supervisor’s own is never inherited' }, childExtraEnvironment(req));
  assert.deepEqual(req.args, ['worker', '--app', pool.app], 'the command line names the app; the rest is in the configuration');
  // cli/main.ts hands `m2pool worker` everything after the subcommand.
  return readWorkerConfig(parseFlags(req.args.slice(1), WORKER_FLAGS).values, env[WORKER_CONFIG_ENV]);
}

test('workerConfigOf fills in WORKER_DEFAULTS for every worker setting the pool leaves unset', () => {
  const pool = validateConfig({ app: './app', topology: 'direct' });
  assert.deepEqual(workerConfigOf(pool), {
    app: './app',
    sendSpecs: ['tcp://127.0.0.1:9997'],
    recvSpecs: ['tcp://127.0.0.1:9996'],
    maxInFlight: 64,
    receiveHwm: 16,
    drainTimeoutMs: 30_000,
    bootTimeoutMs: 30_000, // the pool's own default: the supervisor waits this long, and so does the worker
    heartbeatIntervalMs: 1_000,
    sendTimeoutMs: 5_000,
    uploadThreshold: 20_480,
    maxUploadBytes: 64 * 1024 * 1024,
    logLevel: 'info',
    requestLogLevel: 'debug',
    metrics: 'on',
  });
  assert.equal(workerConfigOf(pool).maxInFlight, WORKER_DEFAULTS.maxInFlight, 'the supervisor knows the real in-flight cap');
  assert.ok(Object.isFrozen(workerConfigOf(pool)));
});

test('workerConfigOf passes set values through; uploadDir becomes its template; dispatch gets the endpoint and CURVE files', () => {
  const direct = workerConfigOf(validateConfig({ app: 'a', topology: 'direct', ...ALL_SET }));
  // Everything but the endpoints and the two settings a pool file cannot hold (sendTimeoutMs, maxUploadBytes).
  const { app: _app, sendSpecs: _send, recvSpecs: _recv, sendTimeoutMs, maxUploadBytes, ...passed } = direct;
  assert.deepEqual(passed, ALL_SET);
  assert.deepEqual([sendTimeoutMs, maxUploadBytes], [WORKER_DEFAULTS.sendTimeoutMs, WORKER_DEFAULTS.maxUploadBytes]);
  assert.equal(workerConfigOf(validateConfig({ app: 'a', uploadDir: '/srv/up/' })).uploadStore, '/srv/up/upload.XXXXXX');
  assert.equal(workerConfigOf(validateConfig({ app: 'a', uploadDir: '/b', uploadStore: '/a/upload.XXXXXX' })).uploadStore, '/a/upload.XXXXXX', 'uploadStore wins');

  const forked = validateConfig({ app: 'a', runDir: '/tmp/m2p-contract' });
  assert.deepEqual([workerConfigOf(forked).dispatcher, workerConfigOf(forked).sendSpecs], [{ endpoint: forkedDispatcherBind(forked) }, []]);
  const remote = validateConfig({ app: 'a', dispatcher: 'tcp://10.0.0.1:7000', curveServerKeyFile: 'd.pub', curveSecretFile: 'w.key' });
  assert.deepEqual(workerConfigOf(remote).dispatcher, { endpoint: 'tcp://10.0.0.1:7000', curveServerKeyFile: 'd.pub', curveSecretFile: 'w.key' });
});

test('round trip: PoolConfig → what the forked worker receives → its parsed WorkerConfig is identical', () => {
  const pools = [
    validateConfig({ app: './app' }),
    validateConfig({ app: './app', topology: 'direct', sendSpecs: ['ipc:///a', 'tcp://h:1'], recvSpecs: ['ipc:///b', 'tcp://h:2'], ...ALL_SET }),
    validateConfig({ app: '/srv/app.js', dispatcher: 'tcp://10.0.0.1:7000', curveServerKeyFile: 'd.pub', curveSecretFile: 'w.key', uploadDir: '/up' }),
    validateConfig({ app: 'a', dispatcher: 'tcp://10.0.0.1:7000', insecure: true }),
  ];
  for (const pool of pools) assert.deepEqual(received(pool), workerConfigOf(pool));
});

test('flags parse into the same WorkerConfig a pool file with the same settings gives', () => {
  const fromFile = workerConfigOf(validateConfig({ app: './app', topology: 'direct', sendSpecs: ['ipc:///a'], recvSpecs: ['ipc:///b'], ...ALL_SET }));
  const flags = [
    '--app', './app', '--send-spec', 'ipc:///a', '--recv-spec', 'ipc:///b', '--max-in-flight', '8', '--receive-hwm', '4',
    '--request-timeout-ms', '9000', '--max-request-bytes', '2000000', '--upload-store', '/srv/up/upload.XXXXXX', '--upload-threshold', '100', '--request-log-level', 'info',
    '--metrics', 'off', '--log-level', 'warn', '--drain-timeout-ms', '5000', '--boot-timeout-ms', '7000', '--heartbeat-interval-ms', '200',
  ];
  assert.deepEqual(readWorkerConfig(parseFlags(flags, WORKER_FLAGS).values), fromFile);
  // A worker run by hand without flags gets WORKER_DEFAULTS (its own boot timeout: nothing waits for it).
  const { app, sendSpecs, recvSpecs, ...rest } = readWorkerConfig(parseFlags(['--app', 'x', '--send-spec', 'ipc:///a', '--recv-spec', 'ipc:///b'], WORKER_FLAGS).values);
  assert.deepEqual([app, sendSpecs, recvSpecs, rest], ['x', ['ipc:///a'], ['ipc:///b'], { ...WORKER_DEFAULTS }]);
});

test('flags on the command line win over the handed-over configuration; transport flags replace its transport', () => {
  const handed = workerConfigOf(validateConfig({ app: './app', runDir: '/tmp/m2p-contract' }));
  const text = encodeWorkerConfig(handed);
  assert.deepEqual(readWorkerConfig({ 'max-in-flight': '3' }, text), { ...handed, maxInFlight: 3 });
  const { dispatcher: _, ...direct } = { ...handed, sendSpecs: ['ipc:///a'], recvSpecs: ['ipc:///b'] };
  assert.deepEqual(readWorkerConfig({ 'send-spec': ['ipc:///a'], 'recv-spec': ['ipc:///b'] }, text), direct);
  assert.throws(() => readWorkerConfig({ 'max-in-flight': '0' }, text), /--max-in-flight must be an integer from 1 to 100000/);
});

/** The problems `text` is rejected with. */
function handoverIssues(text: string): readonly string[] {
  try {
    decodeWorkerConfig(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues;
  }
  assert.fail(`expected ${text} to be rejected`);
}

test('a broken handed-over configuration is rejected with every problem named', () => {
  const good = workerConfigOf(validateConfig({ app: './app', topology: 'direct' }));
  assert.match(handoverIssues('{"app": ').join(), /^not valid JSON: /);
  assert.deepEqual(handoverIssues('[1]'), ['must be a JSON object, got [1]']);
  const { maxInFlight: _, ...missing } = good;
  assert.deepEqual(handoverIssues(JSON.stringify(missing)), ['maxInFlight: is missing']);
  assert.deepEqual(handoverIssues(JSON.stringify({ ...good, maxInFlight: 0, logLevel: 'loud', extra: 1 })), [
    'extra: unknown key',
    'maxInFlight: must be an integer from 1 to 100000, got 0',
    'logLevel: must be one of fatal|error|warn|info|debug|trace|silent, got "loud"',
  ]);
  assert.deepEqual(handoverIssues(JSON.stringify({ ...good, uploadStore: 'relative/upload.XXXXXX', recvSpecs: [] })), [
    'uploadStore: upload store "relative/upload.XXXXXX" must be an absolute path',
    'recvSpecs: has 0 entries but sendSpecs has 1',
  ]);
  assert.deepEqual(handoverIssues(JSON.stringify({ ...good, dispatcher: { endpoint: 'udp://x', curveSecretFile: 'w.key' } })), [
    'dispatcher: endpoint: must be ipc://PATH or tcp://HOST:PORT, got "udp://x"; curveSecretFile: and curveServerKeyFile go together',
  ]);
  assert.deepEqual(handoverIssues(JSON.stringify({ ...good, dispatcher: { endpoint: 'ipc:///d' } })), ['dispatcher: excludes sendSpecs and recvSpecs (give one way to reach Mongrel2)']);
  assert.throws(
    () => readWorkerConfig({}, JSON.stringify({ ...good, receiveHwm: '16' })),
    (err: unknown) => err instanceof UsageError && err.message === `${WORKER_CONFIG_ENV} (the configuration the supervisor handed over) is invalid:\n  - receiveHwm: must be an integer from 1 to 1000000, got "16"`,
  );
});

test('m2pool worker given a broken configuration exits with the usage code and says what is wrong', async (t) => {
  const worker = spawnNode([CLI, 'worker', '--app', path.join(__dirname, 'no-such-app')], { env: { [WORKER_CONFIG_ENV]: '{"app": 1}' } });
  t.after(() => worker.stop());
  assert.deepEqual(await worker.exited, [ExitCode.USAGE, null]);
  assert.match(worker.stderr(), /m2pool worker: M2POOL_WORKER_CONFIG \(the configuration the supervisor handed over\) is invalid:\n {2}- app: must be a non-empty string, got 1\n/);
  assert.match(worker.stderr(), /\n {2}- sendSpecs: is missing\n/);
});

test('a tcp:// dispatcher without CURVE keys is refused on the worker side unless insecure (flags, handover, pool)', () => {
  const tcp = ['--app', 'a', '--dispatcher', 'tcp://127.0.0.1:7000'];
  assert.throws(
    () => readWorkerConfig(parseFlags(tcp, WORKER_FLAGS).values),
    (err: unknown) => err instanceof UsageError && /refusing to connect to tcp:\/\/127\.0\.0\.1:7000 without CURVE keys .*--curve-server-key-file and --curve-secret-file \(m2pool keygen\), or --insecure/.test(err.message),
  );
  assert.deepEqual(readWorkerConfig(parseFlags([...tcp, '--insecure'], WORKER_FLAGS).values).dispatcher, { endpoint: 'tcp://127.0.0.1:7000', insecure: true });
  assert.deepEqual(readWorkerConfig(parseFlags([...tcp, '--curve-server-key-file', 'd.pub', '--curve-secret-file', 'w.key'], WORKER_FLAGS).values).dispatcher, {
    endpoint: 'tcp://127.0.0.1:7000', curveServerKeyFile: 'd.pub', curveSecretFile: 'w.key',
  });
  // ipc:// is local: no keys needed, and --insecure without a --dispatcher is a usage error.
  assert.deepEqual(readWorkerConfig(parseFlags(['--app', 'a', '--dispatcher', 'ipc:///d'], WORKER_FLAGS).values).dispatcher, { endpoint: 'ipc:///d' });
  assert.throws(() => readWorkerConfig(parseFlags(['--app', 'a', '--send-spec', 'ipc:///a', '--recv-spec', 'ipc:///b', '--insecure'], WORKER_FLAGS).values), /--insecure need --dispatcher/);

  const good = workerConfigOf(validateConfig({ app: './app' }));
  assert.deepEqual(handoverIssues(JSON.stringify({ ...good, dispatcher: { endpoint: 'tcp://10.0.0.1:7000' } })), [
    'dispatcher: endpoint: refusing to connect to tcp://10.0.0.1:7000 without CURVE keys (requests and replies would cross the network in plaintext): give curveServerKeyFile and curveSecretFile (m2pool keygen), or insecure',
  ]);
  // An insecure pool hands its workers the permission, and only for a tcp:// endpoint without keys.
  assert.deepEqual(workerConfigOf(validateConfig({ app: 'a', dispatcher: 'tcp://10.0.0.1:7000', insecure: true })).dispatcher, { endpoint: 'tcp://10.0.0.1:7000', insecure: true });
  assert.deepEqual(workerConfigOf(validateConfig({ app: 'a', runDir: '/tmp/m2p-contract', insecure: true })).dispatcher, { endpoint: forkedDispatcherBind(validateConfig({ app: 'a', runDir: '/tmp/m2p-contract' })) });
});
