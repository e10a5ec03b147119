/**
 * `m2pool worker --app <module> --send-spec <ep> --recv-spec <ep>`: one handler process. This is the unit the
 * pool forks (its configuration handed over in `M2POOL_WORKER_CONFIG`, see `config/worker-config-codec.ts`), and
 * how a handler on another host joins a Mongrel2.
 * @module
 */
import { ExitCode } from '../errors';
import { readWorkerConfig, WORKER_FLAGS } from '../worker/options';
import { WORKER_CONFIG_ENV } from '../config/worker-config-codec';
import { runWorker } from '../worker/main';
import { parseFlags, renderHelp, UsageError } from '../config/flags';
import { applyLogFormatFlag } from '../log/log-format';

/** Help text of the command. */
export const WORKER_HELP = renderHelp(
  'm2pool worker --app <module> --send-spec <endpoint> --recv-spec <endpoint> [options]',
  'Run one handler process connected to one or more Mongrel2 servers.',
  WORKER_FLAGS,
);

/** Run the command; resolves with the exit code. */
export async function workerCommand(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(argv, WORKER_FLAGS);
  if (help) {
    process.stdout.write(WORKER_HELP);
    return ExitCode.OK;
  }
  const formatProblem = applyLogFormatFlag(values['log-format']);
  if (formatProblem !== undefined) throw new UsageError(formatProblem);
  const config = readWorkerConfig(values, process.env[WORKER_CONFIG_ENV]);
  // Read once: the app and the processes it starts do not inherit it (a `m2pool worker` it ran would take it).
  delete process.env[WORKER_CONFIG_ENV];
  return runWorker(config);
}
