/**
 * Mongrel2 round-robins disconnect notices between the handler processes (docs/mongrel2.md §3.1), so the
 * worker that gets one is often not the one serving that connection, and a slow handler would never hear that
 * its client left. Workers report connections with long-running requests in their heartbeats (`waiting`); while
 * any worker does, every worker relays the notices it cannot place, and the supervisor hands each one to the
 * workers waiting on that connection. A request is reported once it has run for a heartbeat interval, so a notice
 * no worker claims yet is held for a few intervals and handed over when a heartbeat reports its connection.
 * No long-running requests: no relaying, no extra IPC.
 * @module
 */
import type { SupervisorMessage } from '../../ipc/messages';
import type { WorkerHandle } from './worker-handle';

/** Sends one message to a worker; must not throw when its channel is closed. */
export type SendToWorker = (w: WorkerHandle, msg: SupervisorMessage) => void;

/** Decides when workers relay disconnect notices, and where a relayed notice goes. */
export class DisconnectRelay {
  readonly #send: SendToWorker;
  #holdMs: number;
  #on = false;
  /** Relayed notices nobody claimed yet: connection key → when to give up on it. */
  readonly #held = new Map<string, number>();

  /** @param holdMs how long an unclaimed notice waits for a heartbeat that reports its connection. */
  constructor(send: SendToWorker, holdMs: number) {
    this.#send = send;
    this.#holdMs = holdMs;
  }

  /** How long an unclaimed notice waits (a reload may change the heartbeat interval). */
  set holdMs(ms: number) {
    this.#holdMs = ms;
  }

  /** Whether workers are told to relay notices for connections they do not know. */
  get on(): boolean {
    return this.#on;
  }

  /**
   * After heartbeats or exits: hand held notices to the workers that now report their connection, drop expired
   * ones, and tell every worker when relaying flips. Returns whether it flipped.
   */
  update(workers: Iterable<WorkerHandle>, now: number): boolean {
    for (const [key, expires] of this.#held) {
      if (now >= expires) {
        this.#held.delete(key);
        continue;
      }
      let handed = false;
      for (const w of workers) {
        if (!listening(w) || !w.waiting.has(key)) continue;
        this.#send(w, { type: 'm2pool:disconnect', key });
        handed = true;
      }
      if (handed) this.#held.delete(key);
    }
    let any = false;
    for (const w of workers) {
      if (w.live && w.waiting.size > 0) {
        any = true;
        break;
      }
    }
    if (any === this.#on) return false;
    this.#on = any;
    for (const w of workers) if (listening(w)) this.#send(w, { type: 'm2pool:relay-disconnects', on: any });
    return true;
  }

  /** A worker became ready (its message listener is up): it relays too while relaying is on. */
  ready(w: WorkerHandle): void {
    if (this.#on) this.#send(w, { type: 'm2pool:relay-disconnects', on: true });
  }

  /**
   * `from` got the notice of connection `key` and has nothing of it: tell the workers waiting on it, or hold it
   * until one reports the connection. Returns how many got it now.
   */
  forward(from: WorkerHandle, key: string, workers: Iterable<WorkerHandle>, now: number): number {
    let n = 0;
    for (const w of workers) {
      if (w === from || !listening(w) || !w.waiting.has(key)) continue;
      this.#send(w, { type: 'm2pool:disconnect', key });
      n += 1;
    }
    if (n === 0) this.#held.set(key, now + this.#holdMs);
    return n;
  }
}

/** Alive and past boot: its IPC listener is up (draining workers still finish requests, so they count). */
function listening(w: WorkerHandle): boolean {
  return w.live && w.state !== 'booting';
}
