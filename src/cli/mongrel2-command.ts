/**
 * `m2pool mongrel2 --config <mongrel2.conf>`: load the config with m2sh and run Mongrel2 in the foreground;
 * SIGTERM/SIGINT stop it cleanly (Mongrel2 treats both as a graceful shutdown, docs/mongrel2.md §6.4).
 * @module
 */
import { ExitCode, errorMessage } from '../errors';
import { DEFAULT_HTTP_PORT, startMongrel2 } from '../mongrel2/launcher';
import { FlagReader, type FlagSpecs } from '../config/flags';
import { command } from './command';

const FLAGS: FlagSpecs = {
  config: { type: 'string', placeholder: 'file', description: 'mongrel2.conf to load (m2sh syntax); server.daemonize must be 0' },
  'run-dir': { type: 'string', placeholder: 'dir', description: "Mongrel2's working directory: config.sqlite, run/, logs/, tmp/", defaultText: 'run/mongrel2' },
  port: { type: 'string', placeholder: 'n', description: 'HTTP port substituted for ${PORT} in the config', defaultText: '$M2POOL_HTTP_PORT, else 6767' },
  server: { type: 'string', placeholder: 'name', description: 'which Server(name=...) to run when the config has several', defaultText: 'the first' },
};


/** `values` with `port` from `$M2POOL_HTTP_PORT` when `--port` was not given (shared with `m2pool dev`). */
export function withEnvPort<V extends { port?: unknown }>(values: V, env: NodeJS.ProcessEnv = process.env): V {
  const envPort = env['M2POOL_HTTP_PORT'];
  return values.port === undefined && envPort !== undefined && envPort !== '' ? { ...values, port: envPort } : values;
}

/** Run the command; resolves with the exit code. */
export const mongrel2Command = command(
  {
    usage: 'm2pool mongrel2 --config <file> [options]',
    summary: 'Load a Mongrel2 config and run Mongrel2 in the foreground. The config may use ${RUN_DIR}, ${PORT} and\n${NAME:-default} (read from the environment, e.g. ${M2POOL_HTTP_HOST:-127.0.0.1}).',
    flags: FLAGS,
  },
  async (values) => {
    const r = new FlagReader(withEnvPort(values));
    const configPath = r.required('config');
    const port = r.int('port', DEFAULT_HTTP_PORT, 1, 65535);
    r.check();
    let started;
    try {
      started = await startMongrel2({ configPath, runDir: r.string('run-dir', 'run/mongrel2') ?? 'run/mongrel2', serverName: r.string('server'), port });
    } catch (err) {
      process.stderr.write(`m2pool mongrel2: ${errorMessage(err)}\n`);
      return ExitCode.BOOT_ERROR;
    }
    const { child, server, runDir } = started;
    process.stdout.write(`${JSON.stringify({ level: 30, time: new Date().toISOString(), role: 'mongrel2', event: 'mongrel2.start', pid: child.pid, server: server.name, uuid: server.uuid, runDir, msg: 'mongrel2.start' })}\n`);
    let signalled = 0;
    const forward = (): void => {
      signalled += 1;
      // First signal: graceful; Mongrel2 itself treats a second one as "murder".
      child.kill(signalled === 1 ? 'SIGINT' : 'SIGTERM');
    };
    process.on('SIGTERM', forward);
    process.on('SIGINT', forward);
    const [code, signal] = (await new Promise((resolve) => child.once('exit', (c, s) => resolve([c, s])))) as [number | null, NodeJS.Signals | null];
    if (signalled > 0) return ExitCode.OK;
    process.stderr.write(`m2pool mongrel2: mongrel2 exited (${signal ?? `code ${code}`}); see ${runDir}/logs/error.log\n`);
    return code ?? ExitCode.CRASH;
  },
);
