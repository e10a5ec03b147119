import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigSync } from '../../../src/config/load';
import { availableParallelism } from 'node:os';
import { ConfigError } from '../../../src/errors';
import { DEFAULTS } from '../../../src/config/schema';
import { validateConfig } from '../../../src/config/validate';
import { settingsOf } from '../../../src/config/settings';

const POOL_SETTINGS = settingsOf('pool');

function issuesOf(raw: unknown): readonly string[] {
  try {
    validateConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'M2P_ERR_CONFIG_INVALID');
    return err.issues;
  }
  assert.fail('expected the configuration to be rejected');
}

test('a minimal config takes every default and comes back deep-frozen', () => {
  const c = validateConfig({ app: './app' });
  const { app, ...rest } = c;
  assert.equal(app, './app');
  assert.deepEqual(rest, { ...DEFAULTS });
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.sendSpecs) && Object.isFrozen(c.restartBackoff));
  assert.throws(() => {
    (c.sendSpecs as string[]).push('tcp://x:1');
  }, TypeError);
});

test('DEFAULTS is frozen and itself a valid configuration', () => {
  assert.ok(Object.isFrozen(DEFAULTS) && Object.isFrozen(DEFAULTS.crashLoop));
  assert.equal(DEFAULTS.admin, '127.0.0.1:9890');
  assert.ok(DEFAULTS.shutdownTimeoutMs >= DEFAULTS.drainTimeoutMs);
  assert.ok(DEFAULTS.heartbeatTimeoutMs >= 2 * DEFAULTS.heartbeatIntervalMs);
});

test('every problem is reported at once', () => {
  const issues = issuesOf({
    workers: -1,
    maxWorkers: 'many',
    sendSpecs: ['http://x'],
    recvSpecs: 'tcp://127.0.0.1:1',
    bootTimeoutMs: 1.5,
    logLevel: 'loud',
    admin: 'localhost',
  });
  const keys = issues.map((i) => i.split(':')[0]);
  assert.deepEqual(new Set(keys), new Set(['app', 'workers', 'maxWorkers', 'sendSpecs', 'recvSpecs', 'bootTimeoutMs', 'logLevel', 'admin']));
  assert.ok(issues.some((i) => i.includes('"http://x" is not a tcp://')));
  assert.ok(issues.some((i) => i.startsWith('app: is required')));
});

test('unknown keys are rejected, nested ones included', () => {
  const issues = issuesOf({ app: 'a', wrokers: 2, restartBackoff: { initialMs: 1, factor: 2 }, crashLoop: 5 });
  assert.deepEqual(issues, ['wrokers: unknown key', 'restartBackoff.factor: unknown key', 'crashLoop: must be an object with maxFailures, windowMs, probeAfterMs']);
});

test('cross-field rules: scale range, specs count, heartbeat, shutdown vs drain, backoff order', () => {
  const issues = issuesOf({
    app: 'a',
    workers: 9,
    minWorkers: 2,
    maxWorkers: 8,
    sendSpecs: ['tcp://127.0.0.1:1', 'tcp://127.0.0.1:2'],
    recvSpecs: ['tcp://127.0.0.1:3'],
    heartbeatIntervalMs: 1000,
    heartbeatTimeoutMs: 1500,
    drainTimeoutMs: 5000,
    shutdownTimeoutMs: 4000,
    restartBackoff: { initialMs: 500, maxMs: 100 },
  });
  assert.equal(issues.length, 5, issues.join('\n'));
  assert.ok(issues.some((i) => i.startsWith('workers: (9) must be between minWorkers (2) and maxWorkers (8)')));
  assert.ok(issues.some((i) => i.startsWith('recvSpecs: has 1 entries but sendSpecs has 2')));
  assert.deepEqual(issuesOf({ app: 'a', workers: 2, minReady: 3 }), ['minReady: (3) is above workers (2): the pool could never be ready']);
});

test('a cross-field rule is skipped when one of its keys is already invalid', () => {
  const issues = issuesOf({ app: 'a', workers: 'x', maxWorkers: 4 });
  assert.deepEqual(issues.map((i) => i.split(':')[0]), ['workers']);
});

test('a non-loopback admin address needs a token; loopback does not', () => {
  assert.deepEqual(issuesOf({ app: 'a', admin: '0.0.0.0:9890' }), ['adminToken: is required when admin listens on a non-loopback address (0.0.0.0:9890)']);
  const long = 'a-token-of-24-characters';
  assert.equal(validateConfig({ app: 'a', admin: '0.0.0.0:9890', adminToken: long }).adminToken, long);
  assert.equal(validateConfig({ app: 'a', admin: '[::1]:9890' }).admin, '[::1]:9890');
  assert.equal(validateConfig({ app: 'a', admin: 'localhost:0' }).admin, 'localhost:0');
});

test('admin and metrics tokens: at least 16 visible-ASCII characters off loopback, no whitespace anywhere', () => {
  assert.deepEqual(issuesOf({ app: 'a', admin: '0.0.0.0:9890', adminToken: 's3cret' }), [
    'adminToken: must be at least 16 characters when admin listens on a non-loopback address (got 6); e.g. openssl rand -hex 24',
  ]);
  assert.match(issuesOf({ app: 'a', admin: '0.0.0.0:9890', adminToken: ' ' })[0] ?? '', /^adminToken: must be visible ASCII without spaces/);
  assert.match(issuesOf({ app: 'a', admin: '0.0.0.0:9890', adminToken: ' '.repeat(20) })[0] ?? '', /^adminToken: must be visible ASCII/);
  assert.match(issuesOf({ app: 'a', adminToken: 'two words' })[0] ?? '', /^adminToken: must be visible ASCII/, 'on loopback too');
  assert.equal(validateConfig({ app: 'a', adminToken: 'x' }).adminToken, 'x', 'loopback: any length');
  assert.match(issuesOf({ app: 'a', admin: '0.0.0.0:9890', adminToken: 'a-token-of-24-characters', metricsToken: 'short' })[0] ?? '', /^metricsToken: must be at least 16/);
  assert.equal(validateConfig({ app: 'a' }).metricsToken, '');
});

test('duplicate endpoints and durations beyond the timer limit are rejected', () => {
  const issues = issuesOf({ app: 'a', sendSpecs: ['tcp://h:1', 'tcp://h:1'], recvSpecs: ['tcp://h:2', 'tcp://h:3'], drainTimeoutMs: 2 ** 31 });
  assert.ok(issues.some((i) => i.startsWith('sendSpecs: lists "tcp://h:1" twice')));
  assert.ok(issues.some((i) => i.startsWith('drainTimeoutMs: must be an integer from 0 to 2147483647')));
});

test('optional worker pass-throughs stay absent unless given', () => {
  const c = validateConfig({ app: 'a' });
  assert.equal('maxInFlight' in c, false);
  const d = validateConfig({ app: 'a', maxInFlight: 8, uploadDir: '/tmp/up', requestLogLevel: 'debug', receiveHwm: null });
  assert.deepEqual([d.maxInFlight, d.uploadDir, d.requestLogLevel, 'receiveHwm' in d], [8, '/tmp/up', 'debug', false]);
});

test('every config field has a validator entry and a unique flag and env name', () => {
  const flags = new Set(POOL_SETTINGS.map((f) => f.flag));
  const envs = new Set(POOL_SETTINGS.map((f) => f.env));
  assert.equal(flags.size, POOL_SETTINGS.length);
  assert.equal(envs.size, POOL_SETTINGS.length);
  const full = validateConfig({
    app: 'a', appKind: 'fetch', mongrel2Config: 'm.conf', adminTokenFile: 'f', maxInFlight: 1, receiveHwm: 1, requestTimeoutMs: 1, maxRequestBytes: 2_000_000, uploadDir: 'd', uploadStore: '/t/upload.XXXXXX', uploadThreshold: 1, requestLogLevel: 'info', metrics: 'off',
    dispatcherBind: 'tcp://0.0.0.0:7000', curveSecretFile: 'k', curveServerKeyFile: 'k.pub', curveAuthorizedDir: 'keys', queueLimit: 5, queueTimeoutMs: 5,
    backlogLimit: 20, maxWorkerCredit: 4, dispatcherRequestTimeoutMs: 2, autoscale: { min: 1, max: 2 },
  });
  // A pool joining a remote dispatcher has no bind of its own: `dispatcher` is checked on a second config.
  const remote = validateConfig({ app: 'a', dispatcher: 'tcp://10.0.0.1:7000', insecure: true });
  for (const f of POOL_SETTINGS) {
    const [head, tail] = f.key.split('.') as [string, string | undefined];
    const present = [full, remote].some((c) => {
      const v = (c as unknown as Record<string, Record<string, unknown>>)[head];
      return (tail === undefined ? v : v?.[tail]) !== undefined;
    });
    assert.ok(present, `${f.key} missing from the validated config`);
  }
  assert.equal(POOL_SETTINGS.find((f) => f.key === 'restartBackoff.initialMs')?.env, 'M2POOL_RESTART_BACKOFF_INITIAL_MS');
  assert.equal(POOL_SETTINGS.find((f) => f.key === 'sendSpecs')?.flag, 'send-spec');
});

test('dispatcher pass-through: backlogLimit ≥ queueLimit, maxWorkerCredit ≥ maxInFlight, its request timeout above the app deadline (#18)', () => {
  const issues = (raw: Record<string, unknown>): string[] => {
    try {
      validateConfig({ app: 'a', ...raw });
      return [];
    } catch (err) {
      return (err as { issues: string[] }).issues;
    }
  };
  assert.deepEqual(issues({ queueLimit: 10, backlogLimit: 10, maxInFlight: 8, maxWorkerCredit: 8, requestTimeoutMs: 1_000, dispatcherRequestTimeoutMs: 1_001 }), []);
  const found = issues({ queueLimit: 10, backlogLimit: 9, maxInFlight: 8, maxWorkerCredit: 7, requestTimeoutMs: 1_000, dispatcherRequestTimeoutMs: 1_000 });
  assert.equal(found.length, 3, found.join('\n'));
  assert.match(found.join('\n'), /backlogLimit.*below queueLimit/);
  assert.match(found.join('\n'), /maxWorkerCredit.*below maxInFlight/);
  assert.match(found.join('\n'), /dispatcherRequestTimeoutMs.*above requestTimeoutMs/);
});

test('uploadStore must be an absolute mkstemp template; uploadThreshold a non-negative integer', () => {
  assert.deepEqual(validateConfig({ app: 'a', uploadStore: '/srv/tmp/upload.XXXXXX', uploadThreshold: 20480 }).uploadStore, '/srv/tmp/upload.XXXXXX');
  const issues = issuesOf({ app: 'a', uploadStore: 'tmp/upload.XXXXXX' });
  assert.ok(issues.some((i) => /uploadStore/.test(i) && /absolute/.test(i)), issues.join('\n'));
  assert.ok(issuesOf({ app: 'a', uploadStore: '/tmp/upload.X' }).some((i) => /XXXXXX/.test(i)));
  assert.ok(issuesOf({ app: 'a', uploadThreshold: -1 }).some((i) => /uploadThreshold/.test(i)));
});

test('autoscale is off unless given; min and max are required and must sit within minWorkers..maxWorkers', () => {
  assert.equal('autoscale' in validateConfig({ app: 'a' }), false);
  const on = validateConfig({ app: 'a', autoscale: { min: 2, max: 6, targetUtilization: 0.5 } }).autoscale;
  assert.deepEqual([on?.min, on?.max, on?.targetUtilization, on?.intervalMs, on?.scaleDownWindowMs], [2, 6, 0.5, 5_000, 300_000]);
  assert.deepEqual(issuesOf({ app: 'a', autoscale: { max: 4 } }), ['autoscale.min: is required to turn autoscaling on (--autoscale-min N or M2POOL_AUTOSCALE_MIN)']);
  assert.deepEqual(issuesOf({ app: 'a', minWorkers: 2, maxWorkers: 8, autoscale: { min: 1, max: 9 } }), [
    'autoscale.min: (1) is below minWorkers (2); autoscale.min..autoscale.max must sit within minWorkers..maxWorkers',
    'autoscale.max: (9) is above maxWorkers (8); autoscale.min..autoscale.max must sit within minWorkers..maxWorkers',
  ]);
  assert.deepEqual(issuesOf({ app: 'a', autoscale: { min: 5, max: 3 } }), ['autoscale.min: (5) is above autoscale.max (3)']);
  assert.match(issuesOf({ app: 'a', autoscale: { min: 1, max: 3, targetUtilization: 0 } })[0] ?? '', /^autoscale.targetUtilization: must be a number above 0 and at most 1, got 0/);
  assert.deepEqual(issuesOf({ app: 'a', autoscale: { min: 1, max: 3, every: 5 } }), ['autoscale.every: unknown key']);
  assert.match(issuesOf({ app: 'a', autoscale: 4 })[0] ?? '', /^autoscale: must be an object with min, max, intervalMs/);
});

test('appKind is one of auto, m2pool, fetch, node; absent unless given', () => {
  assert.equal('appKind' in validateConfig({ app: 'a' }), false);
  assert.equal(validateConfig({ app: 'a', appKind: 'node' }).appKind, 'node');
  assert.ok(issuesOf({ app: 'a', appKind: 'express' }).some((i) => i.startsWith('appKind: must be one of auto, m2pool, fetch, node')));
});

test('workers auto is the CPUs available to the process', () => {
  assert.equal(validateConfig({ app: 'a', workers: 'auto' }).workers, availableParallelism());
  assert.equal(loadConfigSync({ flags: { app: 'a', workers: 'auto' } }).workers, availableParallelism(), '--workers auto');
  assert.equal(loadConfigSync({ env: { M2POOL_WORKERS: 'auto' }, flags: { app: 'a' } }).workers, availableParallelism(), 'M2POOL_WORKERS=auto');
  assert.ok(issuesOf({ app: 'a', workers: 'many' }).some((i) => i.startsWith('workers: must be an integer')));
});
