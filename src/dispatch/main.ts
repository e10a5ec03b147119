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
import { ErrorCode, ExitCode, M2PoolError, errorMessage } from '../errors';
import { isSupervisorMessage, type WorkerMessage } from '../ipc/messages';
import { createLogger } from '../log/logger';
import { DEFAULT_PUSH_INTERVAL_MS } from '../metrics/definitions';
import { readKeyFile } from '../transport/curve-keys';
import { startHeartbeat } from '../worker/heartbeat';
import { startDispatcherAdmin } from './admin';
import { Dispatcher } from './dispatcher';
import { bindError, claimEndpoint, type EndpointClaim } from './endpoint-claim';
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

/** The code a boot failure is reported with: the error's own, else WORKER_BOOT. */
function errorCodeOf(err: unknown): ErrorCode {
  return err instanceof M2PoolError ? err.code : ErrorCode.WORKER_BOOT;
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
  let claim: EndpointClaim;
  try {
    if (options.curveSecretFile !== undefined && options.curveAuthorizedDir !== undefined) {
      curve = { secretKey: await readKeyFile(options.curveSecretFile, 'CURVE secret key') };
      zap = await ZapHandler.start(options.curveAuthorizedDir, (d) => {
        if (!d.accepted) logger.warn({ event: 'dispatcher.auth.refused', address: d.address, mechanism: d.mechanism }, 'worker refused: its key is not authorized');
      });
    }
    if (options.bind.startsWith('ipc://')) await mkdir(path.dirname(options.bind.slice('ipc://'.length)), { recursive: true });
    // Never bind over a live dispatcher's socket (libzmq would unlink it).
    claim = await claimEndpoint(options.bind, (holder) =>
      logger.info({ event: 'dispatcher.endpoint.waiting', endpoint: options.bind, holderPid: holder.pid }, 'the dispatcher holding the endpoint is stopping: waiting for it'),
    );
  } catch (err) {
    zap?.close();
    return fatal(ExitCode.BOOT_ERROR, errorCodeOf(err), err);
  }
  if (claim.tookOverStale) logger.warn({ event: 'dispatcher.endpoint.stale', endpoint: options.bind }, 'a dead dispatcher\'s socket file was left behind: removed and bound again');

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
    await claim.release();
    const reported = await bindError(options.bind, err);
    return fatal(ExitCode.BOOT_ERROR, errorCodeOf(reported), reported);
  }
  await claim.bound();
  dispatcher.workerEvents.on('handshake:error:auth', (e) => logger.warn({ event: 'dispatcher.auth.failed', address: e.address }, 'worker handshake failed authentication'));

  let admin: Server | undefined;
  if (options.admin !== undefined) {
    try {
      admin = await startDispatcherAdmin(
        options.admin,
        { adminToken: options.adminToken, metricsToken: options.metricsToken },
        { families: () => dispatcherFamilies(dispatcher.scheduler.stats, gauges()), notReadyReason: () => dispatcher.notReadyReason() },
        (err) => logger.error({ err }, 'metrics render failed'),
      );
    } catch (err) {
      await dispatcher.stop(0, 0);
      zap?.close();
      await claim.release();
      return fatal(ExitCode.BOOT_ERROR, ErrorCode.WORKER_BOOT, err);
    }
  }

  logger.info({ event: 'dispatcher.start', bind: options.bind, servers: options.sendSpecs.length, curve: curve !== undefined, admin: options.admin, adminAuth: options.adminToken !== '' || options.metricsToken !== '' }, 'dispatcher.start');
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
      claim.leaving();
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
  await claim.release();
  await new Promise((resolve) => (admin === undefined ? resolve(undefined) : admin.close(resolve)));
  const stats = dispatcher.scheduler.stats;
  logger.info(
    { event: 'dispatcher.exit', received: stats.received, retries: stats.retries, failed: Object.fromEntries(stats.failures), lateReplies: stats.lateReplies, batchesIn: stats.batchesIn, batchesOut: stats.batchesOut, dispatched: Object.fromEntries(stats.dispatched) },
    'dispatcher.exit',
  );
  logger.flush();
  return ExitCode.OK;
}
