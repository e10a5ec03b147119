#!/usr/bin/env node
/**
 * The `m2pool` command: dispatches to one subcommand module (loaded on demand, so a worker never loads the
 * supervisor and vice versa).
 * @module
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, errorMessage, M2PoolError } from '../errors';
import { UsageError } from '../config/flags';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Readonly<Record<string, { readonly summary: string; readonly load: () => Promise<Command> }>> = {
  start: { summary: 'run the supervisor: fork, health-check and scale N workers', load: async () => (await import('./start-command.js')).startCommand },
  worker: { summary: 'run one handler process connected to Mongrel2', load: async () => (await import('./worker-command.js')).workerCommand },
  status: { summary: "show the pool's workers (admin API)", load: async () => (await import('./admin-commands.js')).statusCommand },
  scale: { summary: 'set the number of workers: N, +N or -N (admin API)', load: async () => (await import('./admin-commands.js')).scaleCommand },
  reload: { summary: 'rolling reload: new workers first, then drain the old (admin API)', load: async () => (await import('./admin-commands.js')).reloadCommand },
  'log-level': { summary: 'show or set the log level of the supervisor and workers at runtime (admin API)', load: async () => (await import('./admin-commands.js')).logLevelCommand },
  dispatcher: { summary: 'run the dispatcher: the one process between Mongrel2 and the workers (dispatch topology)', load: async () => (await import('./dispatcher-command.js')).dispatcherCommand },
  init: { summary: 'write a new project that depends on m2pool into a directory (app, test, Mongrel2 config, pm2 file)', load: async () => (await import('./init-command.js')).initCommand },
  dev: { summary: 'development: Mongrel2, a pool with pretty logs, and a watcher that reloads it on every saved change (.ts through tsx)', load: async () => (await import('./dev-command.js')).devCommand },
  serve: { summary: 'serve the app over plain HTTP (node:http), without Mongrel2: development, or behind another proxy', load: async () => (await import('./serve-command.js')).serveCommand },
  keygen: { summary: 'write a CURVE key pair for a tcp:// dispatcher endpoint', load: async () => (await import('./keygen-command.js')).keygenCommand },
  mongrel2: { summary: 'load a mongrel2.conf and run Mongrel2 in the foreground', load: async () => (await import('./mongrel2-command.js')).mongrel2Command },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2;
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`);
  return `Usage: m2pool <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nOptions:\n  -v, --version  print the version\n  -h, --help     show this help\n\nRun 'm2pool <command> -h' for the options of a command.\n`;
}

/** The package version, from the package.json beside dist/ (dist/src/cli/main.js -> ../../../package.json). */
function version(): string {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
  return String(pkg.version);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`m2pool ${version()}\n`);
    return ExitCode.OK;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`m2pool: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return ExitCode.USAGE;
  }
  try {
    return await (await command.load())(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`m2pool ${name}: ${err.message}\nRun 'm2pool ${name} --help' for usage.\n`);
      return ExitCode.USAGE;
    }
    const code = err instanceof M2PoolError ? ` [${err.code}]` : '';
    process.stderr.write(`m2pool ${name}: ${errorMessage(err)}${code}\n`);
    return ExitCode.CRASH;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // A forked worker's IPC channel would keep the process alive after a clean stop.
  if (process.connected) process.disconnect();
});
