/**
 * `m2pool serve --http HOST:PORT --app MODULE`: the app over plain HTTP (node:http), no Mongrel2 — for
 * development, and behind another reverse proxy. One process; SIGTERM/SIGINT drain (a second one exits at once).
 * @module
 */
import { formatHostPort, parseHostPort } from '../config/host-port';
import { FlagReader, type FlagSpecs } from '../config/flags';
import { command } from './command';
import { ErrorCode, ExitCode, errorMessage } from '../errors';
import { HttpFront } from '../http-front/front';
import { createLogger } from '../log/logger';
import type { AppKind } from '../config/app-kind';
import { settingOf } from '../config/settings';
import { applyLogFormatFlag } from '../log/log-format';
import { WORKER_DEFAULTS } from '../config/worker-config';
import { applyRequestTimeout, startApp, stopApp, type WorkerApp } from '../adapters/app-contract';
import { loadApp } from '../worker/app-loader';
import { WORKER_FLAGS } from '../worker/options';

/** Flags of `m2pool serve` (those it shares with `m2pool worker` mean the same). */
export const SERVE_FLAGS: FlagSpecs = {
  http: { type: 'string', placeholder: 'host:port', description: 'address to listen on, e.g. 127.0.0.1:8080 ([::1]:8080 for IPv6; port 0: any free port)' },
  app: WORKER_FLAGS['app']!,
  'app-kind': WORKER_FLAGS['app-kind']!,
  'request-timeout-ms': WORKER_FLAGS['request-timeout-ms']!,
  'drain-timeout-ms': WORKER_FLAGS['drain-timeout-ms']!,
  'max-body-bytes': { type: 'string', placeholder: 'n', description: 'largest request body read into memory; larger ones get 413', defaultText: String(WORKER_DEFAULTS.maxUploadBytes) },
  'log-level': WORKER_FLAGS['log-level']!,
  'log-format': WORKER_FLAGS['log-format']!,
};

/** Run the command; resolves with the exit code once the server has stopped. */
export const serveCommand = command(
  {
    usage: 'm2pool serve --http HOST:PORT --app <module> [options]',
    summary: 'Serve the app over plain HTTP with node:http, without Mongrel2: same routing, deadlines, validation and\nstreaming. WebSocket upgrades are answered 501. Signals: TERM/INT drain and stop (twice: at once).',
    flags: SERVE_FLAGS,
  },
  async (values) => {
    const r = new FlagReader(values);
    const listen = parseHostPort(r.required('http'));
    if (typeof listen === 'string' && values['http'] !== undefined) r.issues.push(`--http: ${listen}`);
    const appSpec = r.required('app');
    const appKind = r.setting<AppKind>(settingOf('appKind'), 'app-kind', 'auto');
    const requestTimeoutMs = values['request-timeout-ms'] === undefined ? undefined : r.setting(settingOf('requestTimeoutMs'), 'request-timeout-ms', 0);
    const drainTimeoutMs = r.setting(settingOf('drainTimeoutMs'), 'drain-timeout-ms', WORKER_DEFAULTS.drainTimeoutMs);
    const maxBodyBytes = r.setting(settingOf('maxUploadBytes'), 'max-body-bytes', WORKER_DEFAULTS.maxUploadBytes);
    const logLevel = r.setting(settingOf('logLevel'), 'log-level', WORKER_DEFAULTS.logLevel);
    const formatProblem = applyLogFormatFlag(values['log-format']);
    if (formatProblem !== undefined) r.issues.push(formatProblem);
    r.check();
    if (typeof listen === 'string') return ExitCode.USAGE; // unreachable: check() threw

    const logger = createLogger({ level: logLevel, requestMixin: true, bindings: { role: 'serve' } });
    let app: WorkerApp;
    try {
      app = await loadApp(appSpec, process.cwd(), appKind);
      applyRequestTimeout(app, requestTimeoutMs);
    } catch (err) {
      logger.fatal({ event: 'serve.fatal', code: ErrorCode.APP_LOAD, err }, errorMessage(err));
      logger.flush();
      process.stderr.write(`m2pool serve: ${errorMessage(err)}\n`);
      return ExitCode.APP_LOAD_ERROR;
    }
    try {
      await startApp(app, Number.MAX_SAFE_INTEGER);
    } catch (err) {
      logger.fatal({ event: 'serve.fatal', code: ErrorCode.APP_HOOK, err }, errorMessage(err));
      logger.flush();
      process.stderr.write(`m2pool serve: ${errorMessage(err)}\n`);
      return ExitCode.BOOT_ERROR;
    }
    const front = new HttpFront({ app, logger, maxBodyBytes });
    try {
      const bound = await front.listen(listen.host, listen.port);
      logger.info({ event: 'serve.ready', http: formatHostPort({ host: listen.host, port: bound.port }), port: bound.port }, 'serve.ready');
    } catch (err) {
      process.stderr.write(`m2pool serve: cannot listen on ${formatHostPort(listen)}: ${errorMessage(err)}\n`);
      await stopApp(app).catch(() => undefined);
      return ExitCode.BOOT_ERROR;
    }
    await new Promise<void>((resolve) => {
      const onSignal = (signal: NodeJS.Signals): void => {
        if (front.inFlight > 0 && stopping) {
          logger.warn({ event: 'serve.exit.forced', signal }, 'second signal: exiting now');
          logger.flush();
          process.exit(ExitCode.CRASH);
        }
        if (!stopping) logger.info({ event: 'serve.stop', signal, inFlight: front.inFlight, drainTimeoutMs }, 'serve.stop');
        stopping = true;
        void front.stop(drainTimeoutMs).then(resolve);
      };
      let stopping = false;
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    await stopApp(app).catch((err: unknown) => logger.error({ event: 'app.stop.failed', code: ErrorCode.APP_HOOK, err }, 'app.stop.failed'));
    logger.info({ event: 'serve.exit' }, 'serve.exit');
    logger.flush();
    return ExitCode.OK;
  },
);
