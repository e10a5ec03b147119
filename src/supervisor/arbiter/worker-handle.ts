/**
 * The supervisor-side view of one worker process (puma's `WorkerHandle`): identity (slot, generation, pid), its
 * lifecycle phase booting → ready → draining → exited as a discriminated union (each phase carries its own fields,
 * and an exited or draining phase the one it left), and the last heartbeat's numbers. A {@link ChildHandle}, as
 * the dispatcher's is: pid, liveness, silence, kill deadlines and killing are theirs in common.
 * It records facts and sends what it is told to; every decision is made by the supervisor's reconcile loop.
 * @module
 */
import { assertNever, type WorkerMessage } from '../../ipc/messages';
import type { DrainReason, KillReason } from './restart-policy';
import { ChildHandle, type ChildExit, type ChildPhase } from './child-handle';
import type { WorkerProcess } from './spawn';

const NO_CONNECTIONS: ReadonlySet<string> = new Set();

/** Lifecycle state of a worker. */
export type WorkerState = 'booting' | 'ready' | 'draining' | 'exited';

/** Booting: forked, not ready yet (its IPC listener may not be up). */
export interface BootingPhase {
  readonly state: 'booting';
}

/** Ready: serving. `recycleReason` is set once it is due for replacement by a fresh worker. */
export interface ReadyPhase {
  readonly state: 'ready';
  readonly readyAt: number;
  recycleReason: RecycleReason | undefined;
}

/** Draining: finishing in-flight work; SIGKILLed at `killAt` (null: no deadline yet) and then called `killReason`. */
export interface DrainingPhase {
  readonly state: 'draining';
  readonly reason: DrainReason;
  readonly startedAt: number;
  killAt: number | null;
  killReason: KillReason;
  /** The phase it was drained from (booting or ready). */
  readonly from: BootingPhase | ReadyPhase;
}

/** Exited: the exit was seen (or the fork failed); `from` is the phase it died in. */
export interface ExitedPhase {
  readonly state: 'exited';
  readonly exit: ChildExit;
  readonly from: BootingPhase | ReadyPhase | DrainingPhase;
}

/** A worker's phase. */
export type WorkerPhase = BootingPhase | ReadyPhase | DrainingPhase | ExitedPhase;

/** When the worker reported ready, whatever phase it is in now; null if it never did. */
export function readyAtOf(p: WorkerPhase): number | null {
  switch (p.state) {
    case 'booting':
      return null;
    case 'ready':
      return p.readyAt;
    case 'draining':
    case 'exited':
      return readyAtOf(p.from);
  }
}

/** Why it was asked to drain (or announced draining), whatever phase it is in now. */
export function drainReasonOf(p: WorkerPhase): DrainReason | undefined {
  if (p.state === 'draining') return p.reason;
  return p.state === 'exited' ? drainReasonOf(p.from) : undefined;
}

/** Why it was due for recycling, whatever phase it is in now. */
function recycleReasonOf(p: WorkerPhase): RecycleReason | undefined {
  if (p.state === 'ready') return p.recycleReason;
  return p.state === 'booting' ? undefined : recycleReasonOf(p.from);
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

/** A positive integer: IPC messages are untrusted (architecture.md invariant 6). */
function validCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1;
}

/** One forked worker as the supervisor sees it. */
export class WorkerHandle extends ChildHandle<KillReason> {
  readonly slot: number;
  readonly generation: number;
  #phase: WorkerPhase = { state: 'booting' };
  readonly #onState: ((w: WorkerHandle, state: WorkerState) => void) | undefined;
  inFlight = 0;
  handled = 0;
  loopLagMs = 0;
  rssBytes = 0;
  /** Its in-flight cap as its ready message reported it (null: not reported, e.g. an older worker). */
  maxInFlight: number | null = null;
  /** Mean in flight over the last heartbeat interval (null: not reported; `inFlight` is the instant's). */
  inFlightMean: number | null = null;
  /** Event-loop utilisation over the last heartbeat interval (null: not reported yet). */
  eventLoopUtilization: number | null = null;
  /** Links reaching Mongrel2 at the last heartbeat (null: not reported yet). */
  linksReady: number | null = null;
  /** Connections it has long-running requests of (last heartbeat's `waiting`): relayed disconnect notices go here. */
  waiting: ReadonlySet<string> = NO_CONNECTIONS;
  /** Recycling thresholds: handled count (maxRequests + jitter) and RSS; Infinity when off. */
  readonly limits: RecycleLimits;

  /** @param onState called on every state change (observers, metrics). */
  constructor(
    slot: number,
    generation: number,
    child: WorkerProcess,
    spawnedAt: number,
    limits: RecycleLimits,
    onState?: (w: WorkerHandle, state: WorkerState) => void,
  ) {
    super(child, spawnedAt);
    this.slot = slot;
    this.generation = generation;
    this.limits = limits;
    this.#onState = onState;
  }

  /** The lifecycle phase with its fields; changes only through the methods below. */
  get phase(): Readonly<WorkerPhase> {
    return this.#phase;
  }

  /** The phase's name. */
  get state(): WorkerState {
    return this.#phase.state;
  }

  #enter(phase: WorkerPhase): void {
    const changed = phase.state !== this.#phase.state;
    this.#phase = phase;
    if (changed) this.#onState?.(this, phase.state);
  }

  protected get childPhase(): ChildPhase {
    return this.#phase.state === 'draining' ? 'stopping' : this.#phase.state;
  }

  protected get stopDeadline(): { readonly at: number; readonly reason: KillReason } | null {
    const p = this.#phase;
    return p.state === 'draining' && p.killAt !== null ? { at: p.killAt, reason: p.killReason } : null;
  }

  /** The exit, once seen. */
  get exit(): ChildExit | undefined {
    return this.#phase.state === 'exited' ? this.#phase.exit : undefined;
  }

  /** When it reported ready (null: never). */
  get readyAt(): number | null {
    return readyAtOf(this.#phase);
  }

  /** Why it was asked to drain, if it was. */
  get drainReason(): DrainReason | undefined {
    return drainReasonOf(this.#phase);
  }

  /** Why it is due for recycling, if it is. */
  get recycleReason(): RecycleReason | undefined {
    return recycleReasonOf(this.#phase);
  }

  /** Update from one IPC message. Returns true when the message changed something the loop must act on. */
  onMessage(msg: WorkerMessage, now: number): boolean {
    const p = this.#phase;
    switch (msg.type) {
      case 'm2pool:ready':
        if (p.state !== 'booting') return false;
        this.lastHeartbeatAt = now;
        if (validCount(msg.maxInFlight)) this.maxInFlight = msg.maxInFlight;
        this.#enter({ state: 'ready', readyAt: now, recycleReason: undefined });
        return true;
      case 'm2pool:heartbeat':
        this.lastHeartbeatAt = now;
        this.inFlight = msg.inFlight;
        if (typeof msg.inFlightMean === 'number' && Number.isFinite(msg.inFlightMean) && msg.inFlightMean >= 0) this.inFlightMean = msg.inFlightMean;
        this.handled = msg.handled;
        this.loopLagMs = msg.loopLagMs;
        this.rssBytes = msg.rssBytes;
        if (typeof msg.eventLoopUtilization === 'number' && msg.eventLoopUtilization >= 0 && msg.eventLoopUtilization <= 1) this.eventLoopUtilization = msg.eventLoopUtilization;
        if (msg.linksReady !== undefined) this.linksReady = msg.linksReady;
        this.waiting = msg.waiting === undefined || msg.waiting.length === 0 ? NO_CONNECTIONS : new Set(msg.waiting);
        if (p.state !== 'ready' || p.recycleReason !== undefined) return false;
        if (this.handled >= this.limits.maxHandled) p.recycleReason = 'recycle-requests';
        else if (this.rssBytes > this.limits.maxRssBytes) p.recycleReason = 'recycle-rss';
        return p.recycleReason !== undefined;
      case 'm2pool:draining':
        this.inFlight = msg.inFlight;
        if (p.state !== 'booting' && p.state !== 'ready') return false;
        // Not asked by us: someone signalled the worker directly (an operator, pm2's treekill).
        this.#enter({ state: 'draining', reason: 'external', startedAt: now, killAt: null, killReason: 'drain-timeout', from: p });
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
    const p = this.#phase;
    if (p.state === 'exited') return;
    if (p.state !== 'draining') this.#enter({ state: 'draining', reason, startedAt: now, killAt: null, killReason, from: p });
    this.hurry(killAt, killReason);
    if (p.state === 'booting' || !this.child.connected) {
      this.signal('SIGTERM');
      return;
    }
    this.child.send({ type: 'm2pool:shutdown', drainTimeoutMs }, (err) => {
      // The channel closed under us: the worker is exiting anyway; SIGTERM covers the rare case it is not.
      if (err !== null && this.live) this.signal('SIGTERM');
    });
  }

  /** Pull a draining worker's kill deadline forward (pool stop, fast stop), never back. */
  hurry(killAt: number, reason: KillReason): void {
    const p = this.#phase;
    if (p.state !== 'draining' || (p.killAt !== null && p.killAt <= killAt)) return;
    p.killAt = killAt;
    p.killReason = reason;
  }

  /** Record the exit (from the child's `exit` event, or a failed spawn). */
  markExited(code: number | null, signal: NodeJS.Signals | null, now: number): void {
    const p = this.#phase;
    if (p.state === 'exited') return;
    this.#enter({ state: 'exited', exit: { code, signal, at: now }, from: p });
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
