/**
 * The supervisor-side view of the pool's own dispatcher process (dispatch topology): its phase booting → ready →
 * stopping → exited, and what its heartbeats report (requests it is responsible for, Mongrel2 links ready, credit
 * in use per worker slot). A {@link ChildHandle}, as a worker's is; it records facts, `dispatcher-keeper.ts` decides.
 * @module
 */
import type { WorkerMessage } from '../../ipc/messages';
import { ChildHandle, type ChildExit, type ChildPhase } from '../arbiter/child-handle';
import type { QueueWaitTotals } from './queue-wait';

/** Lifecycle state of the dispatcher. */
export type DispatcherState = 'booting' | 'ready' | 'stopping' | 'exited';

/** Why the supervisor SIGKILLed it. */
export type DispatcherKillReason = 'boot-timeout' | 'heartbeat-timeout' | 'stop-timeout' | 'fast-stop';

/** JSON view of the dispatcher for `GET /pool`. */
export interface DispatcherView {
  readonly state: DispatcherState | 'down';
  readonly pid: number | null;
  readonly endpoint: string;
  readonly restarts: number;
  readonly uptimeMs: number;
  /** Mongrel2 servers connected and subscribed, of `mongrel2Servers` (null: not reported yet). */
  readonly mongrel2Ready: number | null;
  readonly mongrel2Servers: number;
  /** Requests it is responsible for (queued or at a worker). */
  readonly pending: number;
  readonly lastExit: { readonly reason: string; readonly code: number | null; readonly signal: string | null; readonly agoMs: number } | null;
}

/** One forked dispatcher as the supervisor sees it. */
export class DispatcherHandle extends ChildHandle<DispatcherKillReason> {
  state: DispatcherState = 'booting';
  #readyAt: number | null = null;
  /** Requests it holds (heartbeat `inFlight`). */
  pending = 0;
  /** Mongrel2 links ready at the last heartbeat; null before the first. */
  linksReady: number | null = null;
  /** Credit in use per worker slot, from its last heartbeat. */
  grants: Readonly<Record<string, number>> = {};
  /** Queue-wait totals of its last valid metrics snapshot (the autoscaler's queue signal). */
  queueWait: QueueWaitTotals | undefined;
  exit: ChildExit | undefined;
  /** When a stop gives up on it and SIGKILLs it. */
  killAt: number | null = null;

  get readyAt(): number | null {
    return this.#readyAt;
  }

  protected get childPhase(): ChildPhase {
    return this.state;
  }

  protected get stopDeadline(): { readonly at: number; readonly reason: DispatcherKillReason } | null {
    return this.killAt === null ? null : { at: this.killAt, reason: 'stop-timeout' };
  }

  /** Update from one IPC message; true when the loop should look at it. */
  onMessage(msg: WorkerMessage, now: number): boolean {
    switch (msg.type) {
      case 'm2pool:ready':
        if (this.state !== 'booting') return false;
        this.state = 'ready';
        this.#readyAt = now;
        this.lastHeartbeatAt = now;
        return true;
      case 'm2pool:heartbeat': {
        this.lastHeartbeatAt = now;
        this.pending = msg.inFlight;
        const before = this.linksReady;
        if (msg.linksReady !== undefined) this.linksReady = msg.linksReady;
        if (msg.grants !== undefined) this.grants = msg.grants;
        return before !== this.linksReady;
      }
      case 'm2pool:fatal':
        this.fatal = { code: msg.code, message: msg.message };
        return false;
      case 'm2pool:draining':
        this.pending = msg.inFlight;
        return false;
      default:
        return false; // metrics are forwarded by the keeper; nothing else is sent by a dispatcher
    }
  }

  markExited(code: number | null, signal: NodeJS.Signals | null, now: number): void {
    if (this.state === 'exited') return;
    this.state = 'exited';
    this.exit = { code, signal, at: now };
  }
}
