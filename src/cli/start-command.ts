/**
 * `m2pool start`: validate the configuration (every problem at once, before anything starts), bind the admin
 * API, install signal handlers and pm2 actions, then run the supervisor in the foreground until it is stopped.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { DestinationStream } from 'pino';
import { defaultTextIn, settingsOf, type PoolKey } from '../config/settings';
import { loadConfig, loadConfigSync } from '../config/load';
import type { PoolConfig } from '../config/schema';
import { forkedDispatcherBind } from '../config/validate';
import { liveHolder } from '../dispatch/endpoint-claim';
import { forksDispatcher } from '../supervisor/dispatcher-child/dispatcher-keeper';
import { ConfigError, ExitCode, errorMessage, isErrnoException } from '../errors';
import { PoolMetrics } from '../metrics';
import { appCheckProblem, appLoadsOrSay } from '../supervisor/reload/app-load-check';
import { startAdminServer, type MetricsHandler } from '../supervisor/control/admin-server';
import { adminForPm2Instance } from '../supervisor/control/pm2-instance';
import { createSupervisorLogger, flushLogger, type Logger } from '../supervisor/arbiter/logger';
import { metricsObserver } from '../supervisor/control/metrics-observer';
import { announcePm2Ready, registerPm2Actions, type Pm2Process } from '../supervisor/control/pm2-actions';
import { reportPm2Metrics } from '../supervisor/control/pm2-metrics';
import { notifyReady } from '../supervisor/control/sd-notify';
import type { SupervisorObserver } from '../supervisor/arbiter/observer';
import { installSignalHandlers, type SignalSource } from '../supervisor/arbiter/signals';
import { Supervisor } from '../supervisor/arbiter/supervisor';
import { formatHelp } from '../config/help';

/** Writable text sink (process.stdout / process.stderr, or a test buffer). */
export interface TextOut {
  write(text: string): unknown;
}

/** Injectable surroundings of {@link startCommand}; production uses the process's own. */
export interface StartCommandDeps {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly stdout?: TextOut;
  readonly stderr?: TextOut;
  /** Where the supervisor logs go (default: fd 1, asynchronously). */
  readonly logDestination?: DestinationStream;
  readonly logger?: Logger;
  readonly signals?: SignalSource;
  readonly pm2?: Pm2Process;
  /**
   * Replace the built-in metrics: `observer` receives the lifecycle facts and `metricsHandler` serves
   * `GET /metrics`. Default: a `PoolMetrics` fed by {@link metricsObserver}.
   */
  readonly metricsHandler?: MetricsHandler;
  readonly observer?: SupervisorObserver;
  /** Called with the running supervisor (tests use it to observe the pool). */
  readonly onStarted?: (supervisor: Supervisor) => void;
}

const POOL_SETTINGS = settingsOf('pool');

const OPTIONS = {
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...Object.fromEntries(POOL_SETTINGS.map((f) => [f.flag, f.type.kind === 'bool' ? { type: 'boolean' } : { type: 'string', multiple: f.type.kind === 'strings' }])),
} satisfies ParseArgsConfig['options'];

/** One `--help` line of a pool setting: its help, default and environment variable (a list: comma-separated). */
function helpLine(f: (typeof POOL_SETTINGS)[number]): string {
  const d = defaultTextIn(f, 'pool');
  const extra = [f.type.kind === 'strings' ? 'repeatable; env: comma-separated' : '', d === undefined ? '' : `default ${d}`].filter(Boolean).join('; ');
  return `${f.help}${extra === '' ? '' : ` (${extra})`} [${f.env}]`;
}

/** The `--help` text: one line per flag, generated from the settings table. */
export function startHelp(): string {
  return formatHelp({
    usage: 'm2pool start --app MODULE [options]',
    summary: [
      'Run a supervised pool of Mongrel2 handler workers in the foreground.',
      'Signals: TERM/INT graceful stop (twice: fast), QUIT fast stop, HUP rolling reload (re-reads the config), TTIN/TTOU one worker more/less.',
    ],
    options: [
      ['--config FILE', 'JSON config file (keys as in the docs; CLI flags > M2POOL_* env > file > defaults)'],
      ...POOL_SETTINGS.map((f): [string, string] => [f.arg === '' ? `--${f.flag}` : `--${f.flag} ${f.arg}`, helpLine(f)]),
    ],
  });
}

/**
 * Run `m2pool start`. Resolves with the process exit code once the pool has stopped: 0 after a stop,
 * 2 for bad flags or configuration, 3 when the admin address cannot be bound or the dispatcher endpoint is held by
 * a live process (another pool started from the same run directory).
 */
export async function startCommand(argv: string[], deps: StartCommandDeps = {}): Promise<number> {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    stderr.write(`m2pool start: ${errorMessage(err)}\nRun 'm2pool start --help' for the options.\n`);
    return ExitCode.USAGE;
  }
  if (values['help'] === true) {
    stdout.write(startHelp());
    return ExitCode.OK;
  }
  const flags: Partial<Record<PoolKey, unknown>> = {};
  for (const f of POOL_SETTINGS) if (values[f.flag] !== undefined) flags[f.key] = values[f.flag];
  const configFile = values['config'];

  const sources = { env: deps.env ?? process.env, flags, ...(typeof configFile === 'string' ? { configFile } : {}) };
  let config;
  try {
    config = await loadConfig(sources);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    stderr.write(`m2pool start: ${err.issues.length} configuration problem${err.issues.length > 1 ? 's' : ''}:\n${err.issues.map((i) => `  - ${i}\n`).join('')}`);
    return ExitCode.USAGE;
  }
  // Two pools from one directory would share run/dispatch.sock: refuse before forking a dispatcher onto a live one.
  // A dispatcher that is stopping (say, the orphan of this pool's crashed supervisor) is waited for.
  const holder = forksDispatcher(config) ? await liveHolder(forkedDispatcherBind(config)) : undefined;
  if (holder !== undefined) {
    stderr.write(`m2pool start: ${holder.message}\n`);
    return ExitCode.BOOT_ERROR;
  }
  if (!(await appLoadsOrSay(config, stderr))) return ExitCode.APP_LOAD_ERROR; // in a child: nothing forked, no user code here

  process.title = 'm2pool supervisor';
  const logger = deps.logger ?? createSupervisorLogger(config.logLevel, deps.logDestination, config.logFormat);
  let observer = deps.observer;
  let metricsHandler = deps.metricsHandler;
  if (observer === undefined && metricsHandler === undefined) {
    const metrics = new PoolMetrics({ logger });
    observer = metricsObserver(metrics, config.minReady);
    metricsHandler = metrics.handleMetricsRequest;
  }
  // A reload (HUP, admin, CLI, pm2) re-reads the same sources: an edited config file takes effect.
  const reloadConfig = (): PoolConfig => loadConfigSync(sources);
  // A reload loads the (re-read) app in a child first, as at start: a broken one is refused, the workers keep serving.
  const supervisor = new Supervisor({ config, logger, reloadConfig, checkApp: (c) => appCheckProblem(c), ...(observer !== undefined ? { observer } : {}) });
  // Under `pm2 scale m2pool N`, instance i serves its admin API on the configured port + i.
  const adminAddress = adminForPm2Instance(config.admin, sources.env);
  let admin;
  try {
    admin = await startAdminServer({
      target: supervisor,
      listen: adminAddress,
      token: config.adminToken,
      metricsToken: config.metricsToken,
      logger,
      ...(metricsHandler !== undefined ? { metricsHandler } : {}),
    });
  } catch (err) {
    logger.fatal({ event: 'admin.error', err, admin: adminAddress }, 'admin.error');
    stderr.write(`m2pool start: cannot serve the admin API on ${adminAddress}: ${errorMessage(err)}\n`);
    if (isErrnoException(err) && err.code === 'EADDRINUSE') {
      stderr.write(`m2pool start: another process already serves ${adminAddress}. To change a pool's number of workers use 'npx m2pool scale N' or 'pm2 trigger m2pool scale N'.\n`);
    }
    await flushLogger(logger);
    return ExitCode.BOOT_ERROR;
  }

  const pm2 = deps.pm2 ?? process;
  const removeSignals = installSignalHandlers(supervisor, deps.signals ?? process);
  const removePm2 = registerPm2Actions(supervisor, pm2, logger);
  void supervisor.whenReady.then(() => {
    announcePm2Ready(pm2);
    // systemd's Type=notify (deploy/systemd/m2pool.service); a no-op outside systemd.
    void notifyReady('minimum of workers ready');
  });
  supervisor.start();
  // `pm2 monit`: ready/desired workers, req/s, in flight, restarts; a no-op outside pm2.
  const stopPm2Metrics = reportPm2Metrics(supervisor, pm2);
  deps.onStarted?.(supervisor);
  await supervisor.stopped;
  stopPm2Metrics();
  removeSignals();
  removePm2();
  await admin.close();
  await flushLogger(logger);
  return ExitCode.OK;
}
