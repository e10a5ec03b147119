/**
 * `m2pool dispatcher --send-spec <ep> --recv-spec <ep> [--bind <ep>]`: the dispatch topology's front process,
 * between Mongrel2 and the workers (`m2pool worker --dispatcher <ep>`). It never loads user code.
 * @module
 */
import { ExitCode } from '../errors';
import { parseFlags, renderHelp } from '../config/flags';
import { DISPATCHER_FLAGS, readDispatcherOptions } from '../dispatch/options';
import { runDispatcher } from '../dispatch/main';

/** Help text of the command. */
export const DISPATCHER_HELP = renderHelp(
  'm2pool dispatcher --send-spec ENDPOINT --recv-spec ENDPOINT [--bind ENDPOINT] [options]',
  'Connect to one or more Mongrel2 servers and hand their requests to the workers that connect here, by credit.',
  DISPATCHER_FLAGS,
);

/** Run the command; resolves with the exit code. */
export async function dispatcherCommand(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(argv, DISPATCHER_FLAGS);
  if (help) {
    process.stdout.write(DISPATCHER_HELP);
    return ExitCode.OK;
  }
  return runDispatcher(readDispatcherOptions(values));
}
