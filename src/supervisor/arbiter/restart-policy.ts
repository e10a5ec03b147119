/**
 * Pure restart rules: per-slot exponential backoff with full jitter, reset after a stable uptime, and a crash-loop
 * circuit breaker for slots that fail AT BOOT (K boot failures within T stop the slot respawning while the rest of
 * the pool keeps serving; after `probeAfterMs` one worker may try again, and its ready closes the breaker).
 * A worker that was serving and then died (a crash, an outside SIGKILL such as the OOM killer, a heartbeat kill)
 * is not a broken slot: it only feeds the backoff, never the breaker, so a request that crashes workers costs
 * restarts with backoff, never a breaker's long wait.
 * Nothing here reads a clock or spawns anything: callers pass `now`, and `random` is injectable.
 * @module
 */
import { ExitCode } from '../../errors';

/** Backoff and breaker parameters (from `config.restartBackoff` and `config.crashLoop`). */
export interface RestartPolicyOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly resetAfterMs: number;
  readonly maxFailures: number;
  readonly windowMs: number;
  /** An open breaker lets one worker try again after this long; 0 = never (only a reload closes it). */
  readonly probeAfterMs: number;
}

/** What one slot remembers between failures. Immutable: every update returns a new value. */
export interface SlotHistory {
  /** Consecutive failures since the last stable run; drives the backoff exponent. */
  readonly attempts: number;
  /** Times of failures still inside the breaker window, oldest first. */
  readonly failures: readonly number[];
  /** When the breaker opened (or its last probe failed), or null while it is closed. */
  readonly breakerOpenedAt: number | null;
}

/** The history of a slot that never failed. */
export const EMPTY_HISTORY: SlotHistory = Object.freeze({ attempts: 0, failures: Object.freeze([]), breakerOpenedAt: null });

/**
 * When a failure happened: `boot` (before the worker reported ready, or an exit it reports as a boot problem:
 * codes 3/4, the boot timeout, a fork that threw) or `serving` (after ready).
 */
export type FailurePhase = 'boot' | 'serving';

/**
 * An open breaker of the pool's last slot (every slot's breaker open, no worker left) probes after at most this
 * long instead of `probeAfterMs`: the pool serves nothing meanwhile, and one process start per 10 s is cheap
 * next to an outage that lasts until the cause (a database down at boot, a missing file) is gone.
 */
export const LAST_SLOT_PROBE_MS = 10_000;

/** Outcome of {@link RestartPolicy.onFailure}. */
export interface FailureVerdict {
  readonly history: SlotHistory;
  /** Wait this long before respawning the slot (meaningless once the breaker is open). */
  readonly delayMs: number;
  /** True when this failure opened the breaker. */
  readonly breakerOpened: boolean;
}

/** Backoff and breaker arithmetic; one instance serves every slot. */
export class RestartPolicy {
  readonly #o: RestartPolicyOptions;
  readonly #random: () => number;

  /** @param random returns a number in [0, 1); injectable for tests. */
  constructor(options: RestartPolicyOptions, random: () => number = Math.random) {
    this.#o = options;
    this.#random = random;
  }

  /** Upper bound of the delay for the `attempt`-th consecutive failure (1-based): `min(maxMs, initialMs·2^(n-1))`. */
  capFor(attempt: number): number {
    const exp = Math.min(Math.max(attempt - 1, 0), 52);
    return Math.min(this.#o.maxMs, this.#o.initialMs * 2 ** exp);
  }

  /** "Full jitter" (uniform in [0, cap)): spreads respawns of slots that failed together. */
  delayFor(attempt: number): number {
    const r = Math.min(Math.max(this.#random(), 0), 1 - Number.EPSILON);
    return Math.floor(r * this.capFor(attempt));
  }

  /**
   * Record a failure of a worker that was up (ready) for `uptimeMs`. A run of at least `resetAfterMs` first resets
   * the backoff, so a worker that crashes once a day restarts quickly. Only `boot` failures count for the breaker
   * (inside `windowMs`); a `serving` failure only grows the backoff.
   */
  onFailure(history: SlotHistory, now: number, uptimeMs: number, phase: FailurePhase = 'boot'): FailureVerdict {
    const attempts = (uptimeMs >= this.#o.resetAfterMs ? 0 : history.attempts) + 1;
    const recent = history.failures.filter((t) => now - t < this.#o.windowMs);
    const failures = phase === 'boot' ? [...recent, now] : recent;
    const open = history.breakerOpenedAt !== null || (phase === 'boot' && failures.length >= this.#o.maxFailures);
    const breakerOpened = open && history.breakerOpenedAt === null;
    return {
      history: Object.freeze({
        attempts,
        failures: Object.freeze(failures),
        // A failure while open is the probe's: the next probe waits a full period again.
        breakerOpenedAt: open ? now : null,
      }),
      delayMs: this.delayFor(attempts),
      breakerOpened,
    };
  }

  /**
   * When the open breaker of `history` lets one worker try again; null while closed or when probing is off.
   * `lastSlot`: this is the pool's last slot (see {@link LAST_SLOT_PROBE_MS}), which probes sooner.
   */
  probeAt(history: SlotHistory, lastSlot = false): number | null {
    if (history.breakerOpenedAt === null || this.#o.probeAfterMs === 0) return null;
    return history.breakerOpenedAt + (lastSlot ? Math.min(this.#o.probeAfterMs, LAST_SLOT_PROBE_MS) : this.#o.probeAfterMs);
  }

  /**
   * A worker of the slot reported ready: the slot can boot, so earlier boot failures no longer count toward the
   * breaker (it opens on boot failures without a successful boot between them). An open breaker closes, and its
   * backoff starts over; a closed one keeps its backoff (a serving crash soon after still backs off).
   */
  onReady(history: SlotHistory): SlotHistory {
    if (history.breakerOpenedAt !== null) return EMPTY_HISTORY;
    return history.failures.length === 0 ? history : Object.freeze({ ...history, failures: Object.freeze([]) });
  }

  /** A worker of the slot stopped without failing (drained, scaled away): a stable run resets the backoff. */
  onCleanExit(history: SlotHistory, uptimeMs: number): SlotHistory {
    return uptimeMs >= this.#o.resetAfterMs && history.attempts !== 0 ? Object.freeze({ ...history, attempts: 0 }) : history;
  }
}

/** Why the supervisor killed a worker itself. */
export type KillReason = 'heartbeat-timeout' | 'boot-timeout' | 'drain-timeout' | 'shutdown-timeout' | 'fast-stop';

/** Why a worker was asked to drain ('external': it announced draining on its own, e.g. after a SIGTERM from outside). */
export type DrainReason = 'scale-down' | 'reload' | 'recycle-requests' | 'recycle-rss' | 'stop' | 'external' | 'superseded';

/** The reason reported in `worker.exit` log events and `/pool`. */
export type ExitReason = KillReason | DrainReason | 'boot-error' | 'app-load-error' | 'signal' | 'exited' | 'crash' | 'spawn-error';

/** Facts about one exit, as the supervisor saw them. */
export interface ExitFacts {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the worker had been told to drain (or announced it). */
  readonly drainReason?: DrainReason | undefined;
  /** Set when the supervisor sent the SIGKILL. */
  readonly killReason?: KillReason | undefined;
  readonly spawnError?: boolean | undefined;
}

/** Classification of an exit: `expected` = we asked for it; `failure` feeds backoff and the breaker. */
export interface ExitVerdict {
  readonly reason: ExitReason;
  readonly expected: boolean;
  readonly failure: boolean;
}

const FAILURE_KILLS: ReadonlySet<KillReason> = new Set<KillReason>(['heartbeat-timeout', 'boot-timeout']);

const BOOT_REASONS: ReadonlySet<ExitReason> = new Set<ExitReason>(['boot-error', 'app-load-error', 'boot-timeout', 'spawn-error']);

/** Whether a failure counts as a boot failure (breaker) or a serving one (backoff only). */
export function failurePhase(verdict: ExitVerdict, wasReady: boolean): FailurePhase {
  return !wasReady || BOOT_REASONS.has(verdict.reason) ? 'boot' : 'serving';
}

/**
 * Classify an exit (Node cluster's `exitedAfterDisconnect` idea): only exits we did not ask for are failures —
 * crashes, signals from elsewhere, `BOOT_ERROR` (3) and `APP_LOAD_ERROR` (4) included — so that a broken app
 * trips the breaker instead of feeding a restart storm.
 */
export function classifyExit(f: ExitFacts): ExitVerdict {
  if (f.spawnError === true) return { reason: 'spawn-error', expected: false, failure: true };
  if (f.killReason !== undefined) {
    const failure = FAILURE_KILLS.has(f.killReason);
    return { reason: f.killReason, expected: !failure, failure };
  }
  if (f.drainReason !== undefined) return { reason: f.drainReason, expected: true, failure: false };
  if (f.code === ExitCode.BOOT_ERROR) return { reason: 'boot-error', expected: false, failure: true };
  if (f.code === ExitCode.APP_LOAD_ERROR) return { reason: 'app-load-error', expected: false, failure: true };
  if (f.signal !== null) return { reason: 'signal', expected: false, failure: true };
  return { reason: f.code === 0 ? 'exited' : 'crash', expected: false, failure: true };
}
