/**
 * A real `m2pool dispatcher` process for a test, in front of a test Mongrel2, with workers connected to it.
 */
import path from 'node:path';
import type { TestMongrel2 } from './mongrel2';
import { CLI, spawnNode, startWorker, type TestProcess } from './processes';

/** A running dispatcher and the endpoint its workers use. */
export interface TestDispatcher {
  readonly proc: TestProcess;
  readonly endpoint: string;
  /** Start a worker of `app` connected to this dispatcher; resolves once it logged `worker.ready`. */
  worker(app: string, extra?: readonly string[], env?: NodeJS.ProcessEnv): Promise<TestProcess>;
}

/** Options of {@link startTestDispatcher}. */
export interface TestDispatcherOptions {
  /** @default an ipc:// socket in the Mongrel2's run directory */
  readonly endpoint?: string;
  /** Command prefix of the dispatcher process (see `SpawnNodeOptions.prefix`), e.g. to run it in a network namespace. */
  readonly prefix?: readonly string[];
}

/** Start a dispatcher for `m2` (all its handlers) and wait for `dispatcher.ready`; register `proc.stop` with `t.after`. */
export async function startTestDispatcher(m2: TestMongrel2, extra: readonly string[] = [], options: TestDispatcherOptions = {}): Promise<TestDispatcher> {
  const endpoint = options.endpoint ?? `ipc://${path.join(m2.dir, 'run', 'dispatch.sock')}`;
  const specs = m2.handlers.flatMap((_, i) => m2.workerArgs(i));
  const proc = spawnNode([CLI, 'dispatcher', ...specs, '--bind', endpoint, ...extra], options.prefix === undefined ? {} : { prefix: options.prefix });
  try {
    await proc.waitForLog((l) => l['msg'] === 'dispatcher.ready');
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    proc,
    endpoint,
    worker: (app, more = [], env = {}) => startWorker(app, ['--dispatcher', endpoint], more, env),
  };
}
