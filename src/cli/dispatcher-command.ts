/**
 * `m2pool dispatcher --send-spec <ep> --recv-spec <ep> [--bind <ep>]`: the dispatch topology's front process,
 * between Mongrel2 and the workers (`m2pool worker --dispatcher <ep>`). It never loads user code.
 * @module
 */
import { command } from './command';
import { DISPATCHER_FLAGS, readDispatcherOptions } from '../dispatch/options';
import { runDispatcher } from '../dispatch/main';

/** Run the command; resolves with the exit code. */
export const dispatcherCommand = command(
  {
    usage: 'm2pool dispatcher --send-spec ENDPOINT --recv-spec ENDPOINT [--bind ENDPOINT] [options]',
    summary: 'Connect to one or more Mongrel2 servers and hand their requests to the workers that connect here, by credit.',
    flags: DISPATCHER_FLAGS,
  },
  async (values) => runDispatcher(readDispatcherOptions(values)),
);
