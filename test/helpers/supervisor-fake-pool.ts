/**
 * A supervisor over fake children with a fake clock and captured logs, started and torn down with the test (a
 * destroy, then the clock run past every deadline).
 */
import type { TestContext } from 'node:test';
import type { PoolConfig } from '../../src/config/schema';
import { Supervisor, type SupervisorOptions } from '../../src/supervisor/arbiter/supervisor';
import { fakeSpawner } from './supervisor-fake-child';
import { FakeClock } from './supervisor-fake-clock';
import { LogSink } from './supervisor-log-sink';

/** Start it; `options` add to the config (e.g. `random`, `reloadConfig`, `cpu`). */
export function startFakeSupervisor(t: TestContext, config: PoolConfig, options: Omit<SupervisorOptions, 'config' | 'logger' | 'spawn' | 'clock'> = {}, level: 'debug' | 'info' = 'info') {
  const clock = new FakeClock();
  const spawner = fakeSpawner();
  const sink = new LogSink();
  const sup = new Supervisor({ random: () => 0.5, ...options, config, logger: sink.logger(level), spawn: spawner.spawn, clock });
  t.after(() => {
    void sup.destroy();
    clock.advance(60_000);
  });
  sup.start();
  clock.advance(0);
  return { clock, spawner, sink, sup };
}
