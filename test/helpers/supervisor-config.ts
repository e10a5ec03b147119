/**
 * Pool configurations for supervisor tests: small timeouts so the suite stays fast, validated through the real
 * validator so a test config can never be one production would reject.
 */
import path from 'node:path';
import { validateConfig } from '../../src/config/validate';
import type { PoolConfig } from '../../src/config/schema';

/** Compiled fake worker (dist/test/fixtures/supervisor-fake-worker.js). */
export const FAKE_WORKER = path.resolve(__dirname, '..', 'fixtures', 'supervisor-fake-worker.js');
/** Compiled `m2pool start` fixture process. */
export const START_MAIN = path.resolve(__dirname, '..', 'fixtures', 'supervisor-start-main.js');

/** A valid config with test-sized timeouts; `overrides` win. */
export function testConfig(overrides: Record<string, unknown> = {}): PoolConfig {
  return validateConfig({
    app: 'fake-app',
    workers: 2,
    minWorkers: 0,
    maxWorkers: 8,
    minReady: 1,
    admin: '127.0.0.1:0',
    bootTimeoutMs: 2_000,
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 2_000, // generous: a loaded 2-core CI box must not trip it by accident
    drainTimeoutMs: 1_000,
    shutdownTimeoutMs: 3_000,
    restartBackoff: { initialMs: 50, maxMs: 200, resetAfterMs: 5_000 },
    crashLoop: { maxFailures: 3, windowMs: 10_000 },
    workerModule: FAKE_WORKER,
    workerArgs: [],
    logLevel: 'info',
    topology: 'direct', // the fake workers speak the direct contract; the dispatch topology has its own tests
    ...overrides,
  });
}
