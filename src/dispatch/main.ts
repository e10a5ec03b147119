/**
 * One dispatcher process (`m2pool dispatcher`, or forked by `m2pool start`): the only process that talks to
 * Mongrel2 in the dispatch topology. It never loads user code. Stop triggers: SIGTERM/SIGINT, the supervisor's
 * `m2pool:shutdown`, the IPC channel dropping; a second signal exits at once.
 * @module
 */
import { waitingIntervalMs, warnWhileWaiting } from '../log/waiting-warning';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Server } from 'node:http';
import { ErrorCode, ExitCode, errorMessage } from '../errors';
import { isSupervisorMessage, type WorkerMessage } from '../ipc/messages';
import { createLogger } from '../log/logger';
import { DEFAULT_PUSH_INTERVAL_MS } from '../metrics/definitions';
import { readKeyFile } from '../transport/curve-keys';
import { startHeartbeat } from '../worker/heartbeat';
import { startDispatcherAdmin } from './admin';
import { Dispatcher } from './dispatcher';
import type { DispatcherOptions } from './options';
import { dispatcherFamilies, dispatcherSnapshot, type DispatcherGauges } from './stats';
import { ZapHandler } from './zap-handler';
import { listenForStopTriggers, SUPERVISOR_PID_ENV } from '../ipc/stop-triggers';

export type { DispatcherOptions } from './options';

const LINGER_MS = 2_000;

function sendToSupervisor(msg: WorkerMessage): void {
  if (process.send === undefined || !process.connected) return;
  try {
    process.send(msg);
  } catch {
    // channel closed between the check and the send
  }
}

/**
 * Was this process forked by an m2pool supervisor (which then stops it in order, after the workers)? pm2 forks with
 * an IPC channel too, so a channel alone proves nothing: the supervisor names itself in
 * {@link SUPERVISOR_PID_ENV}, and only our parent may claim it. The variable is removed so nothing inherits it.
 */
function forkedBySupervisor(): boolean {
  const claimed = process.env[SUPERVISOR_PID_ENV];
  delete process.env[SUPERVISOR_PID_ENV];
  return process.send !== undefined && claimed !== undefined && claimed === String(process.ppid);
}

/** Run a dispatcher until it is stopped; resolves with the process exit code. */
export async function runDispatcher(options: DispatcherOptions): Promise<number> {
  process.title = 'm2pool dispatcher';
  const supervised = forkedBySupervisor();
  const logger = createLogger({ level: options.logLevel, bindings: { role: 'dispatcher' } });
  const fatal = (code: ExitCode, errCode: string, err: unknown): number => {
    logger.fatal({ event: 'dispatcher.fatal', code: errCode, err }, errorMessage(err));
    sendToSupervisor({ type: 'm2pool:fatal', code: errCode, message: errorMessage(err) });
    logger.flush();
    return code;
  };

  let zap: ZapHandler | undefined;
  let curve: { secretKey: string } | undefined;
  try {
    if (options.curveSecretFile !== undefined && options.curveAuthorizedDir !== undefined) {
      curve = { secretKey: await readKeyFile(options.curveSecretFile, 'CURVE secret key') };
      zap = await ZapHandler.start(options.curveAuthorizedDir, (d) => {
        if (!d.accepted) logger.warn({ event: 'dispatcher.auth.refused', address: d.address, mechanism: d.mechanism }, 'worker refused: its key is not authorized');
      });
    }
    if (options.bind.startsWith('ipc://')) await mkdir(path.dirname(options.bind.slice('ipc://'.length)), { recursive: true });
  } catch (err) {
    zap?.close();
    return fatal(ExitCode.BOOT_ERROR, ErrorCode.WORKER_BOOT, err);
  }

  const dispatcher = new Dispatcher({ ...options, bind: options.bind, curve, logger });
  const gauges = (): DispatcherGauges => ({
    queueDepth: dispatcher.scheduler.queueDepth,
    creditInUse: dispatcher.scheduler.creditInUse,
    creditCapacity: dispatcher.scheduler.creditCapacity,
    workers: dispatcher.scheduler.workerCount,
    mongrel2Ready: dispatcher.readyCount,
    rooms: dispatcher.push.registry.rooms,
    roomMemberships: dispatcher.push.registry.memberships,
  });
  const stopWaitingWarning = warnWhileWaiting(logger, 'dispatcher.waiting', () => dispatcher.links, waitingIntervalMs());
  try {
    await dispatcher.start();
  } catch (err) {
    zap?.close();
    await dispatcher.stop(0, 0).catch(() => undefined);
    return fatal(ExitCode.BOOT_ERROR, ErrorCode.WORKER_BOOT, err);
  }
  dispatcher.workerEvents.on('handshake:error:auth', (e) => logger.warn({ event: 'dispatcher.auth.failed', address: e.address }, 'worker handshake failed authentication'));

  let admin: Server | undefined;
  if (options.admin !== undefined) {
    try {
      admin = await startDispatcherAdmin(
        options.admin,
        { families: () => dispatcherFamilies(dispatcher.scheduler.stats, gauges()), notReadyReason: () => dispatcher.notReadyReason() },
        (err) => logger.error({ err }, 'metrics render failed'),
      );
    } catch (err) {
      await dispatcher.stop(0, 0);
      zap?.close();
      return fatal(ExitCode.BOOT_ERROR, ErrorCode.WORKER_BOOT, err);
    }
  }

  logger.info({ event: 'dispatcher.start', bind: options.bind, servers: options.sendSpecs.length, curve: curve !== undefined, admin: options.admin }, 'dispatcher.start');
  const announceReady = (): void => {
    logger.info({ event: 'dispatcher.ready', bind: options.bind }, 'dispatcher.ready');
    sendToSupervisor({ type: 'm2pool:ready', pid: process.pid, endpoints: dispatcher.links.length });
  };
  let announced = false;
  if (dispatcher.ready) {
    announced = true;
    announceReady();
  }
  dispatcher.onReadyChange((ready) => {
    if (ready && !announced) {
      announced = true;
      announceReady();
    }
  });

  const stopHeartbeat =
    process.send === undefined
      ? () => undefined
      : startHeartbeat(options.heartbeatIntervalMs, {
          get inFlight() { return dispatcher.scheduler.pending; },
          get handled() { return dispatcher.scheduler.stats.received; },
          get linksReady() { return dispatcher.readyCount; },
          grants: () => dispatcher.scheduler.creditByWorker(),
        }, sendToSupervisor);
  let metricsTimer: NodeJS.Timeout | undefined;
  if (process.send !== undefined) {
    metricsTimer = setInterval(() => sendToSupervisor({ type: 'm2pool:metrics', metrics: dispatcherSnapshot(dispatcher.scheduler.stats, gauges()) }), DEFAULT_PUSH_INTERVAL_MS);
    metricsTimer.unref();
  }

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (reason: string, drainMs: number): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ event: 'dispatcher.stop', reason, drainMs, pending: dispatcher.scheduler.pending }, 'dispatcher.stop');
      sendToSupervisor({ type: 'm2pool:draining', inFlight: dispatcher.scheduler.pending });
      void dispatcher.stop(drainMs, LINGER_MS).then(resolve, (err: unknown) => {
        logger.error({ err }, 'dispatcher stop failed');
        resolve();
      });
    };
    process.on('message', (msg: unknown) => {
      if (isSupervisorMessage(msg) && msg.type === 'm2pool:shutdown') stop('supervisor', msg.drainTimeoutMs);
    });
    listenForStopTriggers({ role: 'dispatcher', logger, drainTimeoutMs: options.drainTimeoutMs, isStopping: () => stopping, stop, deferToSupervisor: supervised });
  });

  stopWaitingWarning();
  stopHeartbeat();
  clearInterval(metricsTimer);
  if (process.send !== undefined) sendToSupervisor({ type: 'm2pool:metrics', metrics: dispatcherSnapshot(dispatcher.scheduler.stats, gauges()) });
  zap?.close();
  await new Promise((resolve) => (admin === undefined ? resolve(undefined) : admin.close(resolve)));
  const stats = dispatcher.scheduler.stats;
  logger.info(
    { event: 'dispatcher.exit', received: stats.received, retries: stats.retries, failed: Object.fromEntries(stats.failures), lateReplies: stats.lateReplies, batchesIn: stats.batchesIn, batchesOut: stats.batchesOut, dispatched: Object.fromEntries(stats.dispatched) },
    'dispatcher.exit',
  );
  logger.flush();
  return ExitCode.OK;
}
