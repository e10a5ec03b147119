/**
 * `node load-app-and-exit.js MODULE [KIND]`: load an app module exactly as a worker does, then exit — 0 when it loads, 4
 * (`APP_LOAD_ERROR`) with the reason on stderr when it does not. The supervisor runs it as a child before it forks
 * anything, so a missing or broken `--app` is a configuration error and user code never runs in the supervisor.
 * @module
 */
import { ExitCode, errorMessage } from '../errors';
import { isAppKind } from '../config/app-kind';
import { loadApp } from './app-loader';

const [spec, kind = 'auto'] = process.argv.slice(2);
if (spec === undefined || !isAppKind(kind)) {
  process.stderr.write('usage: load-app-and-exit MODULE [KIND]\n');
  process.exitCode = ExitCode.USAGE;
} else {
  loadApp(spec, process.cwd(), kind).then(
    // process.exit: a loaded app may hold timers or sockets open; the check is over once it has loaded.
    () => process.exit(ExitCode.OK),
    (err: unknown) => {
      process.stderr.write(`${errorMessage(err)}\n`);
      process.exit(ExitCode.APP_LOAD_ERROR);
    },
  );
}
