/**
 * One live dispatcher per worker endpoint. libzmq unlinks whatever file sits at an `ipc://`
 * path before it binds, so a second dispatcher on the same path (two pools started from one directory share
 * `ipc://run/dispatch.sock`) silently steals the first one's workers. Before binding, a dispatcher claims the path:
 *
 * - **the claim** is a listening Unix socket in Linux's abstract namespace, named after the socket's real path. Its
 *   bind is atomic and exclusive, and the kernel drops it the moment the holder dies (even `kill -9`), so there is
 *   no stale lock to judge and no pid to be fooled by reuse; a dispatcher restarted after its predecessor died
 *   simply claims again. The holder answers whoever connects with its pid, which the refusal names, and whether
 *   it is stopping: a dispatcher on its way out (an orphan draining after its supervisor died, a restart) is waited
 *   for, up to {@link STOPPING_WAIT_MS}, instead of refused.
 * - **the socket file**, once claimed: a connect probe tells a live listener (a dispatcher of another network
 *   namespace or an older m2pool, or a foreign program: refused, named with its pid from `/proc`) from a stale file
 *   left by a killed dispatcher (connection refused: removed, then bound). A live socket is never unlinked.
 *
 * `tcp://` needs no claim: binding a port a live process listens on fails with EADDRINUSE, which
 * {@link bindError} turns into the same clear refusal. Refusals are {@link EndpointInUseError}s: exit code 3.
 * @module
 */
import { createHash } from 'node:crypto';
import { lstat, realpath, unlink } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import path from 'node:path';
import { ErrorCode, M2PoolError, isErrnoException } from '../errors';
import { pidHoldingInode, tcpListenerInodes, unixListenerInodes } from './socket-owner';

/** How long a holder may take to say its pid. */
const ASK_TIMEOUT_MS = 1_000;
/**
 * Longest wait for a stopping holder to let go: an orphaned dispatcher drains for at most 2 s
 * (`ORPHAN_DRAIN_MS`) and lingers 2 s for its replies; a supervisor's stop drains longer but then the pool that
 * asks is a second one and should not start anyway.
 */
export const STOPPING_WAIT_MS = 10_000;
/** How often a stopping holder is asked again. */
const STOPPING_POLL_MS = 100;

/** An endpoint another live process holds. */
export class EndpointInUseError extends M2PoolError {
  constructor(
    readonly endpoint: string,
    readonly pid: number | undefined,
    what = 'a live dispatcher',
    /** The holder said it is stopping. */
    readonly stopping = false,
  ) {
    super(
      ErrorCode.ENDPOINT_IN_USE,
      `${endpoint} is held by ${what} (${pid === undefined ? 'pid unknown' : `pid ${pid}`}): refusing to take it over. ` +
        'Is another pool running from this run directory? Give each pool its own --run-dir (or --dispatcher-bind / --bind).',
    );
    this.name = 'EndpointInUseError';
  }
}

/** A held endpoint. */
export interface EndpointClaim {
  /** A stale socket file (its dispatcher died) was removed to bind. */
  readonly tookOverStale: boolean;
  /** Call once the endpoint is bound: remembers which file is ours, for {@link release}. */
  bound(): Promise<void>;
  /** We are stopping: a newcomer waits for the endpoint instead of being refused. */
  leaving(): void;
  /** Give the endpoint up: remove our own socket file (the one {@link bound} saw) and drop the claim. */
  release(): Promise<void>;
}

const NO_CLAIM: EndpointClaim = { tookOverStale: false, bound: async () => undefined, leaving: () => undefined, release: async () => undefined };

/** The socket path of an `ipc://` endpoint, else undefined. */
function ipcPath(endpoint: string): string | undefined {
  return endpoint.startsWith('ipc://') ? endpoint.slice('ipc://'.length) : undefined;
}

/** The abstract-namespace name of the claim on `socketPath` (its directory resolved, so aliases meet). */
async function claimName(socketPath: string): Promise<string> {
  const absolute = path.resolve(socketPath);
  const dir = await realpath(path.dirname(absolute)).catch(() => path.dirname(absolute));
  const digest = createHash('sha256').update(path.join(dir, path.basename(absolute))).digest('hex').slice(0, 40);
  return `m2pool-dispatch-endpoint:${digest}`;
}

/** Ask the holder of claim `name` for its pid and whether it is stopping; undefined when nobody holds it. */
async function askHolder(name: string): Promise<{ pid: number | undefined; stopping: boolean } | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect({ path: `\0${name}` });
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), ASK_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk.slice(0, 200)));
    socket.on('error', (err) => {
      clearTimeout(timer);
      // Refused / absent: nobody holds it. Anything else (a holder too busy to answer): held, pid from /proc.
      if (isErrnoException(err) && (err.code === 'ECONNREFUSED' || err.code === 'ENOENT')) resolve(undefined);
      else void unixListenerInodes(`@${name}`).then(pidHoldingInode).then((pid) => resolve({ pid, stopping: false }));
    });
    socket.on('end', () => {
      clearTimeout(timer);
      const pid = /^\{"pid":(\d+)/.exec(text)?.[1];
      resolve({ pid: pid === undefined ? undefined : Number(pid), stopping: text.includes('"stopping":true') });
    });
  });
}

/** What is at a socket path: nothing, a stale file, a live listener, or a file that is no socket. */
async function probeSocket(socketPath: string): Promise<'absent' | 'stale' | 'live' | 'not-a-socket'> {
  try {
    if (!(await lstat(socketPath)).isSocket()) return 'not-a-socket';
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT') return 'absent';
    throw err;
  }
  return new Promise((resolve) => {
    const socket = connect({ path: socketPath });
    socket.on('connect', () => {
      socket.destroy();
      resolve('live');
    });
    socket.on('error', (err) => resolve(isErrnoException(err) && err.code === 'ECONNREFUSED' ? 'stale' : 'live'));
  });
}

/** The live listener on `socketPath`, as an error naming it. */
async function liveListener(endpoint: string, socketPath: string): Promise<EndpointInUseError> {
  return new EndpointInUseError(endpoint, await pidHoldingInode(await unixListenerInodes(path.resolve(socketPath))), 'a live process');
}

/**
 * Who holds `endpoint` now, without taking it. For `tcp://` any listener on the port counts (the address is not
 * compared): only ask after a bind failed with EADDRINUSE. Undefined when it is free (or only a stale file is left).
 */
export async function endpointHolder(endpoint: string): Promise<EndpointInUseError | undefined> {
  const socketPath = ipcPath(endpoint);
  if (socketPath === undefined) {
    const port = /^tcp:\/\/.*:(\d+)$/.exec(endpoint)?.[1];
    if (port === undefined) return undefined;
    const inodes = await tcpListenerInodes(Number(port));
    return inodes.length === 0 ? undefined : new EndpointInUseError(endpoint, await pidHoldingInode(inodes), 'a live process');
  }
  const holder = await askHolder(await claimName(socketPath));
  if (holder !== undefined) return new EndpointInUseError(endpoint, holder.pid, undefined, holder.stopping);
  return (await probeSocket(socketPath)) === 'live' ? liveListener(endpoint, socketPath) : undefined;
}

/**
 * The holder of an `ipc://` endpoint, waiting (up to `waitMs`) while it is a dispatcher on its way out: what
 * `m2pool start` checks before it forks a dispatcher of its own. A `tcp://` endpoint is left to the bind itself.
 */
export async function liveHolder(endpoint: string, waitMs: number = STOPPING_WAIT_MS): Promise<EndpointInUseError | undefined> {
  if (ipcPath(endpoint) === undefined) return undefined;
  return unlessStopping(async () => {
    const holder = await endpointHolder(endpoint);
    if (holder?.stopping === true) throw holder;
    return holder;
  }, waitMs).catch((err: unknown) => {
    if (err instanceof EndpointInUseError) return err;
    throw err;
  });
}

/**
 * Run `attempt` until it no longer fails with a stopping holder's {@link EndpointInUseError}, for at most
 * `waitMs`: a dispatcher on its way out is waited for; a live one is refused at once.
 */
async function unlessStopping<T>(attempt: () => Promise<T>, waitMs: number = STOPPING_WAIT_MS, onWait?: (holder: EndpointInUseError) => void): Promise<T> {
  const deadline = performance.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof EndpointInUseError) || !err.stopping || performance.now() >= deadline) throw err;
      if (!told) onWait?.(err);
      told = true;
    }
    await new Promise((resolve) => setTimeout(resolve, STOPPING_POLL_MS));
  }
}

/**
 * Claim `endpoint` for this process before binding it (a no-op for `tcp://`). The socket's directory must exist.
 * A holder that is stopping is waited for (up to {@link STOPPING_WAIT_MS}); `onWait` hears of it once.
 * @throws EndpointInUseError when a live process holds it.
 */
export function claimEndpoint(endpoint: string, onWait?: (holder: EndpointInUseError) => void): Promise<EndpointClaim> {
  return unlessStopping(() => claimOnce(endpoint), STOPPING_WAIT_MS, onWait);
}

async function claimOnce(endpoint: string): Promise<EndpointClaim> {
  const socketPath = ipcPath(endpoint);
  if (socketPath === undefined) return NO_CLAIM;
  const name = await claimName(socketPath);
  let stopping = false;
  const server: Server = createServer((c) => c.end(`${JSON.stringify({ pid: process.pid, endpoint, stopping })}\n`));
  let claimed = true;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: `\0${name}` }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if (isErrnoException(err) && err.code === 'EADDRINUSE') {
      const holder = await askHolder(name);
      throw new EndpointInUseError(endpoint, holder?.pid, undefined, holder?.stopping ?? false);
    }
    // NOTE: no abstract namespace (not Linux): the socket-file probe below is all the protection left.
    claimed = false;
  }
  server.unref();
  const drop = (): Promise<void> => (claimed ? new Promise((resolve) => server.close(() => resolve())) : Promise.resolve());
  const state = await probeSocket(socketPath).catch(async (err: unknown) => {
    await drop();
    throw err;
  });
  if (state === 'live' || state === 'not-a-socket') {
    await drop();
    if (state === 'live') throw await liveListener(endpoint, socketPath);
    throw new M2PoolError(ErrorCode.ENDPOINT_IN_USE, `${endpoint}: ${socketPath} exists and is not a socket: refusing to replace it`);
  }
  // Stale: the claim is ours and nothing listens there, so the file is a dead dispatcher's.
  if (state === 'stale') await unlink(socketPath).catch(() => undefined);
  let ours: bigint | undefined;
  const inode = async (): Promise<bigint | undefined> => (await lstat(socketPath, { bigint: true }).catch(() => undefined))?.ino;
  return {
    tookOverStale: state === 'stale',
    bound: async () => {
      ours = await inode();
    },
    leaving: () => {
      stopping = true;
    },
    release: async () => {
      // Our own file even if libzmq has not closed its listener yet; never one somebody else bound since.
      if (ours !== undefined && (await inode()) === ours) await unlink(socketPath).catch(() => undefined);
      await drop();
    },
  };
}

/**
 * The error to report for a failed bind of `endpoint`: an address in use becomes an {@link EndpointInUseError}
 * naming the listener's pid; anything else is returned as it is.
 */
export async function bindError(endpoint: string, err: unknown): Promise<unknown> {
  if (!isErrnoException(err) || err.code !== 'EADDRINUSE') return err;
  return (await endpointHolder(endpoint)) ?? new EndpointInUseError(endpoint, undefined, 'another process');
}
