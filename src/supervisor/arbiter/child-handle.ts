/**
 * One forked child the supervisor keeps alive, a worker or the pool's dispatcher: the part both keepers
 * (`worker-keeper.ts`, `dispatcher-child/dispatcher-keeper.ts`) share. A {@link ChildHandle} records facts —
 * its process, when it started, its last sign of life, its exit, why the supervisor killed it, its last fatal
 * report — and says when it must be SIGKILLed ({@link ChildHandle.killDeadline}: boot, heartbeat or stop budget
 * spent). {@link watchChild} wires its process events the one way both use; {@link forkChild} starts it. What to
 * do about an exit (restart policy, backoff) is each keeper's.
 * @module
 */
import { errorMessage } from '../../errors';
import { isWorkerMessage, type WorkerMessage } from '../../ipc/messages';
import type { SpawnRequest, SpawnWorker, WorkerProcess } from './spawn';

/** Slack after `bootTimeoutMs` so a child can report its own BOOT_ERROR (exit 3) before we SIGKILL it. */
export const BOOT_KILL_GRACE_MS = 1_000;

/** How and when a child ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly at: number;
}

/** The budgets a child's kill deadlines come from (a `PoolConfig` has them). */
export interface ChildTimeouts {
  readonly bootTimeoutMs: number;
  readonly heartbeatTimeoutMs: number;
}

/** When the supervisor gives up on a child, and what the kill is then called. */
export interface KillDeadline<K> {
  readonly at: number;
  readonly reason: K | 'boot-timeout' | 'heartbeat-timeout';
}

/** A child's phase as its deadlines see it. */
export type ChildPhase = 'booting' | 'ready' | 'stopping' | 'exited';

/** One forked child as the supervisor sees it; `K` names why the supervisor may SIGKILL it. */
export abstract class ChildHandle<K extends string> {
  readonly child: WorkerProcess;
  readonly spawnedAt: number;
  /** Last heartbeat (or ready), null before: what {@link silentForMs} measures from. */
  lastHeartbeatAt: number | null = null;
  /** Set once the supervisor sent SIGKILL (any phase). */
  killReason: K | undefined;
  /** Set when the process could not be started at all. */
  spawnError: string | undefined;
  /** The last `m2pool:fatal` it sent before dying. */
  fatal: { readonly code: string; readonly message: string } | undefined;

  constructor(child: WorkerProcess, spawnedAt: number) {
    this.child = child;
    this.spawnedAt = spawnedAt;
  }

  /** Booting, serving, on its way out (draining, stopping), or exited. */
  protected abstract get childPhase(): ChildPhase;

  /** While it is on its way out: when a stop or drain gives up on it, and the kill's reason (null: no deadline yet). */
  protected abstract get stopDeadline(): { readonly at: number; readonly reason: K } | null;

  /** When it reported ready (null: never). */
  abstract get readyAt(): number | null;

  /** Record the exit (from the child's `exit` event, or a failed spawn). */
  abstract markExited(code: number | null, signal: NodeJS.Signals | null, now: number): void;

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  /** Alive as far as we know (no exit seen yet). */
  get live(): boolean {
    return this.childPhase !== 'exited';
  }

  /** Milliseconds since it last proved its event loop runs (heartbeat, or ready). */
  silentForMs(now: number): number {
    return now - (this.lastHeartbeatAt ?? this.readyAt ?? this.spawnedAt);
  }

  /**
   * When it is SIGKILLed unless it moves on first: booting past `bootTimeoutMs` (plus grace), serving and silent
   * for `heartbeatTimeoutMs`, on its way out past its stop deadline. Undefined: killed already, exited, or no
   * deadline yet.
   */
  killDeadline(t: ChildTimeouts, now: number): KillDeadline<K> | undefined {
    if (this.killReason !== undefined) return undefined;
    switch (this.childPhase) {
      case 'booting':
        return { at: this.spawnedAt + t.bootTimeoutMs + BOOT_KILL_GRACE_MS, reason: 'boot-timeout' };
      case 'ready':
        return { at: now - this.silentForMs(now) + t.heartbeatTimeoutMs, reason: 'heartbeat-timeout' };
      case 'stopping':
        return this.stopDeadline ?? undefined;
      case 'exited':
        return undefined;
    }
  }

  /** SIGKILL now, remembering why (the exit classification reads it). */
  kill(reason: K): void {
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
}

/** What a keeper does with a watched child's events (besides recording its exit and waking the loop). */
export interface ChildListeners {
  /** One IPC message of ours (stray messages of another library are dropped before). */
  readonly message: (message: WorkerMessage) => void;
  /** An IPC error of a running child: it lives on. */
  readonly ipcError: (error: Error) => void;
  /** Schedule a loop pass soon. */
  readonly wake: () => void;
  readonly now: () => number;
}

/**
 * Follow `h`'s process: an exit is recorded and wakes the loop (the keeper reaps it there); an `error` before the
 * process got a pid is a failed spawn, recorded the same way; IPC messages go to the keeper.
 */
export function watchChild<K extends string>(h: ChildHandle<K>, on: ChildListeners): void {
  h.child.on('message', (m) => {
    if (isWorkerMessage(m)) on.message(m);
  });
  h.child.on('exit', (code, signal) => {
    h.markExited(code, signal, on.now());
    on.wake();
  });
  h.child.on('error', (err) => {
    if (h.pid !== null) return on.ipcError(err);
    h.spawnError = err.message;
    h.markExited(null, null, on.now());
    on.wake();
  });
}

/** Start a child through `spawn`; `fork()` itself throwing (EAGAIN, EMFILE) comes back as its message. */
export function forkChild(spawn: SpawnWorker, request: SpawnRequest): { readonly child: WorkerProcess } | { readonly error: string } {
  try {
    return { child: spawn(request) };
  } catch (err) {
    return { error: errorMessage(err) };
  }
}
