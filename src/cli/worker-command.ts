/**
 * `m2pool worker --app <module> --send-spec <ep> --recv-spec <ep>`: one handler process. This is the unit the
 * pool forks (its configuration handed over in `M2POOL_WORKER_CONFIG`, see `config/worker-config-codec.ts`), and
 * how a handler on another host joins a Mongrel2.
 * @module
 */
import { readWorkerConfig, WORKER_FLAGS } from '../worker/options';
import { WORKER_CONFIG_ENV } from '../config/worker-config-codec';
import { runWorker } from '../worker/main';
import { UsageError } from '../config/flags';
import { command } from './command';
import { applyLogFormatFlag } from '../log/log-format';

/** Run the command; resolves with the exit code. */
export const workerCommand = command(
  {
    usage: 'm2pool worker --app <module> --send-spec <endpoint> --recv-spec <endpoint> [options]',
    summary: 'Run one handler process connected to one or more Mongrel2 servers.',
    flags: WORKER_FLAGS,
  },
  async (values) => {
    const formatProblem = applyLogFormatFlag(values['log-format']);
    if (formatProblem !== undefined) throw new UsageError(formatProblem);
    const config = readWorkerConfig(values, process.env[WORKER_CONFIG_ENV]);
    // Read once: the app and the processes it starts do not inherit it (a `m2pool worker` it ran would take it).
    delete process.env[WORKER_CONFIG_ENV];
    return runWorker(config);
  },
);
