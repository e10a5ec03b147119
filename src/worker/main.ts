/**
 * One worker process: load the app, connect to Mongrel2, serve until told to stop, drain, exit.
 * Stop triggers (all idempotent, since under pm2's treekill several can arrive together): SIGTERM/SIGINT,
 * the supervisor's `m2pool:shutdown`, and the IPC channel dropping (supervisor gone: no orphans).
 * A second SIGTERM/SIGINT exits at once.
 * @module
 */
import type { Logger } from 'pino';
import { ErrorCode, ExitCode, errorMessage, isErrnoException } from '../errors';
import { assertNever, isSupervisorMessage, type WorkerMessage } from '../ipc/messages';
import { createLogger } from '../log/logger';
import { isLogLevel } from '../config/log-level';
import { uploadStoreOf, type UploadStore } from '../config/upload-template';
import type { WorkerConfig } from '../config/worker-config';
import { requestBytesOf } from '../config/message-limits';
import { DEFAULT_PUSH_INTERVAL_MS } from '../metrics/definitions';
import { WorkerMetrics, type MetricsSend } from '../metrics/worker-metrics';
import { createTransport } from '../transport/create-transport';
import { transportConfig } from './transport-config';
import { loadApp } from './app-loader';
import { disconnectRelayPlug } from './disconnect-relay-plug';
import { applyRequestTimeout, startApp, stopApp, type WorkerApp } from '../adapters/app-contract';
import { startHeartbeat } from './heartbeat';
import { bindPush } from './push-binding';
import { WorkerRuntime } from './runtime';
import { listenForStopTriggers } from '../ipc/stop-triggers';
import { DISPATCHER_HINT, MONGREL2_HINT, waitingIntervalMs, warnWhileWaiting } from '../log/waiting-warning';

const LINGER_MS = 2_000;

/** Send and resolve once the message was written to the channel (so the last metrics survive exit). */
const sendAndWait: MetricsSend = (msg) =>
  new Promise((resolve) => {
    if (process.send === undefined || !process.connected) return resolve(undefined);
    try {
      process.send(msg, undefined, {}, () => resolve(undefined));
    } catch {
      resolve(undefined);
    }
  });

function sendToSupervisor(msg: WorkerMessage): void {
  if (process.send !== undefined && process.connected) {
    try {
      process.send(msg);
    } catch {
      // The channel closed between the check and the send: the 'disconnect' handler takes over.
    }
  }
}

/** Run a worker until it is stopped; resolves with the process exit code. */
export async function runWorker(config: WorkerConfig): Promise<number> {
  const slot = process.env['M2POOL_WORKER_SLOT'];
  process.title = slot === undefined ? 'm2pool worker' : `m2pool worker ${slot} gen ${process.env['M2POOL_WORKER_GENERATION'] ?? '0'}`;
  const generation = process.env['M2POOL_WORKER_GENERATION'];
  const logger = createLogger({
    level: config.logLevel,
    requestMixin: true,
    bindings: { role: 'worker', ...(slot === undefined ? {} : { slot: Number(slot) }), ...(generation === undefined ? {} : { generation: Number(generation) }) },
  });
  const fatal = (code: ExitCode, errCode: string, err: unknown): number => {
    logger.fatal({ event: 'worker.fatal', code: errCode, err }, errorMessage(err));
    sendToSupervisor({ type: 'm2pool:fatal', code: errCode, message: errorMessage(err) });
    logger.flush();
    return code;
  };

  // One boot budget (the supervisor waits `bootTimeoutMs` for `ready`): the start hooks and the connection share it.
  const bootDeadline = Date.now() + config.bootTimeoutMs;
  let uploadStore: UploadStore | undefined;
  try {
    uploadStore = uploadStoreOf(config);
  } catch (err) {
    return fatal(ExitCode.USAGE, ErrorCode.CONFIG_INVALID, err);
  }
  let app: WorkerApp;
  try {
    app = await loadApp(config.app, process.cwd(), config.appKind);
    applyRequestTimeout(app, config.requestTimeoutMs);
  } catch (err) {
    return fatal(ExitCode.APP_LOAD_ERROR, ErrorCode.APP_LOAD, err);
  }
  // Start hooks run before the transport exists: no Mongrel2 PUSH connection (direct) and no HELLO, so no credit
  // (dispatch), until they resolved. A failure is a boot failure: exit 3, counted by the slot's crash-loop breaker.
  try {
    const started = performance.now();
    await startApp(app, bootDeadline - Date.now());
    logger.debug({ event: 'app.started', durationMs: Math.round(performance.now() - started) }, 'app.started');
  } catch (err) {
    return fatal(ExitCode.BOOT_ERROR, ErrorCode.APP_HOOK, err);
  }

  /** Link changes before boot are the boot's business (its timeout); after it they are news for the logs. */
  let booted = false;
  let transport;
  try {
    const chosen = {
      ...(await transportConfig(config, slot, generation)),
      onRefused: (link: string) => {
        logger.warn({ event: 'link.refused', link, maxRequestBytes: requestBytesOf(config) }, 'link.refused: the peer sent a message over the size limit; ZeroMQ dropped the connection (and what was in flight on it); reconnected');
        if (booted) metrics?.linkRefused();
      },
    };
    if (chosen.topology === 'dispatch' && chosen.curve === undefined && chosen.endpoint.startsWith('tcp://')) {
      logger.warn({ event: 'worker.insecure', endpoint: chosen.endpoint }, `worker.insecure: talking plaintext to ${chosen.endpoint} (--insecure): anyone on the path can read requests and forge replies`);
    }
    transport = createTransport(
      chosen.topology === 'dispatch' ? { ...chosen, onHandover: (r) => (r.event === 'dispatcher.vanished' ? logger.warn(r, r.event) : logger.info(r, r.event)) } : chosen,
    );
  } catch (err) {
    return fatal(ExitCode.BOOT_ERROR, ErrorCode.WORKER_BOOT, err);
  }
  transport.onReadyChange((link, ready) => {
    if (!booted) return;
    if (ready) logger.info({ event: 'link.ready', link: link.name }, 'link.ready');
    else logger.warn({ event: 'link.lost', link: link.name }, `link.lost: ${transport.topology === 'dispatch' ? 'the dispatcher (or its Mongrel2)' : 'Mongrel2'} went away; waiting for it to come back`);
    metrics?.endpointsConnected(transport.connectedCount());
  });
  const hint = transport.topology === 'dispatch' ? DISPATCHER_HINT : MONGREL2_HINT;
  const stopWaitingWarning = warnWhileWaiting(logger, 'worker.waiting', () => transport.links, waitingIntervalMs(), hint);
  try {
    await transport.start(Math.max(1, bootDeadline - Date.now()));
  } catch (err) {
    stopWaitingWarning();
    await transport.close(0);
    return fatal(ExitCode.BOOT_ERROR, ErrorCode.WORKER_BOOT, err);
  }

  // Metrics only make sense with a supervisor to push them to.
  const metrics = process.send === undefined || config.metrics === 'off' ? undefined : new WorkerMetrics({ onPushError: (err) => logger.debug({ err }, 'metrics push failed') });
  const relay = transport.misroutesNotices ? disconnectRelayPlug(() => runtime, sendToSupervisor, logger) : undefined;
  const pushBinding = bindPush(app, transport, logger, metrics);
  const runtime: WorkerRuntime = new WorkerRuntime({
    metrics,
    transport,
    app,
    logger,
    maxInFlight: config.maxInFlight,
    uploadStore,
    maxUploadBytes: config.maxUploadBytes,
    requestLogLevel: config.requestLogLevel,
    lingerMs: LINGER_MS,
    onUnclaimedDisconnect: relay?.unclaimed,
    onDisconnectEvent: pushBinding.disconnected,
  });
  runtime.start();
  booted = true;
  // With the configuration it runs with (handed over by the supervisor, or from its flags).
  logger.info({ event: 'worker.ready', endpoints: transport.links.map((l) => l.name), config }, 'worker.ready');
  sendToSupervisor({ type: 'm2pool:ready', pid: process.pid, endpoints: transport.links.length, maxInFlight: config.maxInFlight });

  metrics?.endpointsConnected(transport.connectedCount());
  metrics?.startPushing(DEFAULT_PUSH_INTERVAL_MS, sendToSupervisor);
  const stopHeartbeat =
    process.send === undefined
      ? () => undefined
      : startHeartbeat(
          config.heartbeatIntervalMs,
          {
            get inFlight() { return runtime.stats.inFlight; },
            get handled() { return runtime.stats.handled; },
            takeInFlightArea: () => runtime.stats.takeInFlightArea(),
            get linksReady() { return transport.connectedCount(); },
            ...(relay === undefined ? {} : { waiting: relay.waiting }),
          },
          (msg) => {
            metrics?.endpointsConnected(transport.connectedCount());
            sendToSupervisor(msg);
          },
        );

  const stopped = new Promise<void>((resolve) => {
    const stop = (reason: string, drainMs: number): void => {
      if (!runtime.stopping) {
        logger.info({ event: 'worker.stop', reason, drainMs, inFlight: runtime.stats.inFlight }, 'worker.stop');
        sendToSupervisor({ type: 'm2pool:draining', inFlight: runtime.stats.inFlight });
      }
      void runtime.stop(drainMs).then(resolve);
    };
    listenForStopTriggers({ role: 'worker', logger, drainTimeoutMs: config.drainTimeoutMs, isStopping: () => runtime.stopping, stop });
    process.on('message', (msg: unknown) => {
      if (!isSupervisorMessage(msg) || relay?.handle(msg) === true) return;
      switch (msg.type) {
        case 'm2pool:shutdown':
          return stop('supervisor', msg.drainTimeoutMs);
        case 'm2pool:log-level':
          if (isLogLevel(msg.level)) logger.level = msg.level;
          return;
        case 'm2pool:relay-disconnects':
        case 'm2pool:disconnect':
          return; // only the direct topology's relay plug takes these
        default:
          return assertNever(msg);
      }
    });
  });

  await stopped;
  pushBinding.unbind();
  stopWaitingWarning();
  stopHeartbeat();
  // After the drain: nothing is in flight, the transport is closed.
  await stopApp(app).then(
    () => logger.debug({ event: 'app.stopped' }, 'app.stopped'),
    (err: unknown) => logger.error({ event: 'app.stop.failed', code: ErrorCode.APP_HOOK, err }, 'app.stop.failed'),
  );
  if (metrics !== undefined) {
    metrics.stopPushing();
    metrics.inFlight(0);
    metrics.endpointsConnected(0);
    await metrics.flush(sendAndWait);
  }
  logWorkerExit(logger, runtime);
  return ExitCode.OK;
}

function logWorkerExit(logger: Logger, runtime: WorkerRuntime): void {
  logger.info({ event: 'worker.exit', stats: runtime.stats.snapshot() }, 'worker.exit');
  try {
    logger.flush();
  } catch (err) {
    if (!isErrnoException(err)) throw err;
  }
}
