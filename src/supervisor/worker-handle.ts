/**
 * The supervisor-side view of one worker process (puma's `WorkerHandle`): identity (slot, generation, pid),
 * lifecycle state booting → ready → draining → exited, timestamps, and the last heartbeat's numbers.
 * It records facts and sends what it is told to; every decision is made by the supervisor's reconcile loop.
 * @module
 */
import { assertNever, type WorkerMessage } from '../ipc/messages';
import type { DrainReason, ExitReason, KillReason } from './restart-policy';
import type { WorkerProcess } from './spawn';

const NO_CONNECTIONS: ReadonlySet<string> = new Set();

/** Lifecycle state of a worker. */
export type WorkerState = 'booting' | 'ready' | 'draining' | 'exited';

/** How and why a worker ended. */
export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly at: number;
}

/** Why a worker is due for replacement by a fresh one. */
export type RecycleReason = 'recycle-requests' | 'recycle-rss';

/** Per-worker recycling thresholds; `Infinity` disables one. */
export interface RecycleLimits {
  readonly maxHandled: number;
  readonly maxRssBytes: number;
}

/** JSON view of a worker for `GET /pool`. */
export interface WorkerView {
  readonly slot: number;
  readonly pid: number | null;
  readonly state: WorkerState;
  readonly generation: number;
  readonly restarts: number;
  readonly inFlight: number;
  readonly handled: number;
  readonly loopLagMs: number;
  readonly rssBytes: number;
  readonly uptimeMs: number;
  /** Milliseconds since the last heartbeat (or since ready), null while booting. */
  readonly lastHeartbeatAgoMs: number | null;
  readonly drainReason: DrainReason | null;
  readonly recycleReason: RecycleReason | null;
}

/** One forked worker as the supervisor sees it. */
export class WorkerHandle {
  readonly slot: number;
  readonly generation: number;
  readonly child: WorkerProcess;
  readonly spawnedAt: number;
  #state: WorkerState = 'booting';
  readonly #onState: ((w: WorkerHandle, state: WorkerState) => void) | undefined;
  readyAt: number | null = null;
  lastHeartbeatAt: number | null = null;
  inFlight = 0;
  handled = 0;
  loopLagMs = 0;
  rssBytes = 0;
  /** Connections it has long-running requests of (last heartbeat's `waiting`): relayed disconnect notices go here. */
  waiting: ReadonlySet<string> = NO_CONNECTIONS;
  /** Drain bookkeeping: set once, never cleared. */
  drainReason: DrainReason | undefined;
  drainStartedAt: number | null = null;
  /** When the supervisor SIGKILLs it if it has not exited, and what that kill will be called. */
  killAt: number | null = null;
  killAtReason: KillReason = 'drain-timeout';
  /** Set once the supervisor sent SIGKILL. */
  killReason: KillReason | undefined;
  /** Set when the process could not be started at all. */
  spawnError: string | undefined;
  /** Recycling thresholds: handled count (maxRequests + jitter) and RSS; Infinity when off. */
  readonly limits: RecycleLimits;
  recycleReason: RecycleReason | undefined;
  /** The last `m2pool:fatal` it sent before dying. */
  fatal: { readonly code: string; readonly message: string } | undefined;
  exit: WorkerExit | undefined;
  /** Set by the supervisor once the exit has been accounted for. */
  reaped = false;
  /** Exit reason reported in logs, set when reaped. */
  exitReason: ExitReason | undefined;

  /** @param onState called on every state change (observers, metrics). */
  constructor(
    slot: number,
    generation: number,
    child: WorkerProcess,
    spawnedAt: number,
    limits: RecycleLimits,
    onState?: (w: WorkerHandle, state: WorkerState) => void,
  ) {
    this.slot = slot;
    this.generation = generation;
    this.child = child;
    this.spawnedAt = spawnedAt;
    this.limits = limits;
    this.#onState = onState;
  }

  /** Lifecycle state; changes only through the methods below. */
  get state(): WorkerState {
    return this.#state;
  }

  #setState(state: WorkerState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#onState?.(this, state);
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  /** Alive as far as we know (no exit seen yet). */
  get live(): boolean {
    return this.exit === undefined;
  }

  /** Update from one IPC message. Returns true when the message changed something the loop must act on. */
  onMessage(msg: WorkerMessage, now: number): boolean {
    switch (msg.type) {
      case 'm2pool:ready':
        if (this.state !== 'booting') return false;
        this.#setState('ready');
        this.readyAt = now;
        this.lastHeartbeatAt = now;
        return true;
      case 'm2pool:heartbeat':
        this.lastHeartbeatAt = now;
        this.inFlight = msg.inFlight;
        this.handled = msg.handled;
        this.loopLagMs = msg.loopLagMs;
        this.rssBytes = msg.rssBytes;
        this.waiting = msg.waiting === undefined || msg.waiting.length === 0 ? NO_CONNECTIONS : new Set(msg.waiting);
        if (this.recycleReason !== undefined || this.state !== 'ready') return false;
        if (this.handled >= this.limits.maxHandled) this.recycleReason = 'recycle-requests';
        else if (this.rssBytes > this.limits.maxRssBytes) this.recycleReason = 'recycle-rss';
        return this.recycleReason !== undefined;
      case 'm2pool:draining':
        this.inFlight = msg.inFlight;
        if (this.state === 'draining' || this.state === 'exited') return false;
        // Not asked by us: someone signalled the worker directly (an operator, pm2's treekill).
        this.#setState('draining');
        this.drainReason = 'external';
        this.drainStartedAt = now;
        return true;
      case 'm2pool:fatal':
        this.fatal = { code: msg.code, message: msg.message };
        return false;
      case 'm2pool:metrics':
      case 'm2pool:disconnect':
        return false; // the lifecycle forwards these (metrics to the observer, notices to other workers)
      default:
        return assertNever(msg);
    }
  }

  /**
   * Ask the worker to drain: IPC `shutdown` when it is serving (its listener is up), SIGTERM while it boots
   * (the contract treats both the same). `killAt` is when the supervisor gives up and SIGKILLs it, reported as
   * `killReason`.
   */
  beginDrain(reason: DrainReason, now: number, drainTimeoutMs: number, killAt: number, killReason: KillReason): void {
    if (!this.live) return;
    if (this.state !== 'draining') {
      this.drainReason = reason;
      this.drainStartedAt = now;
    }
    const booting = this.state === 'booting';
    this.#setState('draining');
    this.hurry(killAt, killReason);
    if (booting || !this.child.connected) {
      this.signal('SIGTERM');
      return;
    }
    this.child.send({ type: 'm2pool:shutdown', drainTimeoutMs }, (err) => {
      // The channel closed under us: the worker is exiting anyway; SIGTERM covers the rare case it is not.
      if (err !== null && this.live) this.signal('SIGTERM');
    });
  }

  /** Pull the kill deadline forward (pool stop, fast stop), never back. */
  hurry(killAt: number, reason: KillReason): void {
    if (this.killAt !== null && this.killAt <= killAt) return;
    this.killAt = killAt;
    this.killAtReason = reason;
  }

  /** SIGKILL now, remembering why (the exit classification reads it). */
  kill(reason: KillReason): void {
    if (!this.live) return;
    this.killReason ??= reason;
    this.signal('SIGKILL');
  }

  /** Send a signal, tolerating a process that already went away (ESRCH). */
  signal(sig: NodeJS.Signals): void {
    try {
      this.child.kill(sig);
    } catch {
      // NOTE: kill() throws only for invalid signals; a gone process just returns false.
    }
  }

  /** Record the exit (from the child's `exit` event, or a failed spawn). */
  markExited(code: number | null, signal: NodeJS.Signals | null, now: number): void {
    if (this.exit !== undefined) return;
    this.exit = { code, signal, at: now };
    this.#setState('exited');
  }

  /** Milliseconds since the worker last proved its event loop runs (heartbeat, or ready). */
  silentForMs(now: number): number {
    return now - (this.lastHeartbeatAt ?? this.readyAt ?? this.spawnedAt);
  }

  /** Snapshot for `GET /pool`. */
  view(now: number, restarts: number): WorkerView {
    return {
      slot: this.slot,
      pid: this.pid,
      state: this.state,
      generation: this.generation,
      restarts,
      inFlight: this.inFlight,
      handled: this.handled,
      loopLagMs: this.loopLagMs,
      rssBytes: this.rssBytes,
      uptimeMs: (this.exit?.at ?? now) - this.spawnedAt,
      lastHeartbeatAgoMs: this.lastHeartbeatAt === null ? null : now - this.lastHeartbeatAt,
      drainReason: this.drainReason ?? null,
      recycleReason: this.recycleReason ?? null,
    };
  }
}
