/**
 * After a dispatcher crash, close the client connections whose requests died with it (docs/runbook.md,
 * "Dispatcher crash"). Mongrel2 has no handler timeout and m2pool's config turns its reaper off (mongrel2.md §5.4),
 * so a request that was queued in the dead dispatcher, parked in its sockets, or lost in between would keep its
 * client waiting forever.
 *
 * A worker that was registered with the dead instance says so in its HELLO (`vanished`); the new dispatcher then
 * waits `graceMs` (workers reconnect, hand over their finished replies and announce what they still hold) and asks
 * (twice, `graceMs` apart: a connection between states at the first look is caught at the second) each Mongrel2's
 * control port for its connections (`status what=net`, mongrel2.md §6.6). It answers every HTTP connection that
 * this dispatcher has not seen since it started (no request read from it, no reply or hold handed over for it),
 * unless Mongrel2's clock shows it wrote to it after its last read (its last request was answered: an idle
 * keep-alive client): through the reply socket like any handler, 503 + close when the connection surely waits
 * (read after its last write, or never written to), else a plain close; with the control port's `kill` only
 * when no request has told it the sender to reply as. WebSocket and message-socket connections are left open:
 * they wait for no answer. An idle keep-alive connection whose last read and write fell in the same Mongrel2
 * tick is closed too, as any server's idle timeout would.
 * @module
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors';
import { Mongrel2Control, Mongrel2ConnectionType, type Mongrel2ConnectionRow } from '../transport/mongrel2-control';
import { peekConnection } from './frame-peek';
import type { DispatcherStats } from './stats';

/** Settings of a {@link CrashSweep}. */
export interface CrashSweepOptions {
  /** Per Mongrel2 server (the order of `--send-spec`), its control port; empty: no sweep. */
  readonly controlSpecs: readonly string[];
  /** How long after the first report of a vanished predecessor the sweep runs. */
  readonly graceMs: number;
  /** Longest wait for one control port answer. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly stats: DispatcherStats;
  /** The dispatcher reads from Mongrel2 now (while it does not, waiting requests are still in Mongrel2: wait). */
  accepting(): boolean;
  /**
   * Answer a connection through Mongrel2's reply socket: `error` = 503 + close (its request surely waits), `close`
   * = close. Preferred to the control port's `kill`, which closes the socket under its Mongrel2 task: a connection
   * accepted next on the same descriptor was then never read (observed, mongrel2.md §6.6).
   */
  close(server: number, connection: string, action: 'error' | 'close'): void;
}

/** Connections are recorded from start for this long, unless a predecessor's crash is reported (bounds memory). */
const RECORD_WINDOW_MS = 60_000;

/** What one sweep did on one control port. */
export interface SweepResult {
  readonly endpoint: string;
  readonly connections: number;
  readonly seen: number;
  readonly idle: number;
  readonly sockets: number;
  /** Connections no request of which reached a handler yet (nothing to answer; no id to kill them by). */
  readonly unidentified: number;
  /** The first few of those, as Mongrel2 lists them (a client waiting on one would show here). */
  readonly unidentifiedRows: readonly Mongrel2ConnectionRow[];
  /** Answered 503 + close through the reply socket (their request surely waited). */
  readonly answered503: number;
  /** Closed through the reply socket (a request may have waited, or the connection was idle). */
  readonly closed: number;
  /** Closed with the control port's `kill` (no sender known to reply with). */
  readonly killed: number;
  /** `kill` answers other than OK (the connection went meanwhile). */
  readonly killFailed: number;
}

/** Passes of the sweep, `graceMs` apart: a second look catches a connection that was between states at the first. */
const PASSES = 2;

/** Is the last request of this connection answered? (Mongrel2 wrote to it in a later tick than it last read.) */
function answered(row: Mongrel2ConnectionRow): boolean {
  return row.bytesRead > 0 && row.bytesWritten > 0 && row.lastWrite < row.lastRead;
}

/** Does this connection surely wait for an answer? (Nothing written yet, or read in a later tick than written.) */
function waiting(row: Mongrel2ConnectionRow): boolean {
  return row.bytesRead > 0 && (row.bytesWritten === 0 || row.lastRead < row.lastWrite);
}

/** The sweep of one dispatcher process: armed at start, runs at most once. */
export class CrashSweep {
  readonly #opts: CrashSweepOptions;
  /** Control endpoint of each server index. */
  readonly #controlOf: ReadonlyArray<string | undefined>;
  /** Connection ids seen since start, per control endpoint (connection ids are per Mongrel2 process). */
  readonly #seen = new Map<string, Set<number>>();
  /** Per server, the sender (send_ident) of its requests: replies name it. */
  readonly #sender = new Map<number, string>();
  #recording: boolean;
  #timer: NodeJS.Timeout | undefined;
  #stopRecording: NodeJS.Timeout | undefined;
  #state: 'armed' | 'scheduled' | 'done' = 'armed';
  #pass = 0;

  constructor(options: CrashSweepOptions) {
    this.#opts = options;
    this.#controlOf = options.controlSpecs.map((s) => (s === '' ? undefined : s));
    for (const spec of this.#controlOf) if (spec !== undefined) this.#seen.set(spec, new Set());
    this.#recording = this.#seen.size > 0;
    if (this.#recording) {
      this.#stopRecording = setTimeout(() => {
        if (this.#state === 'armed') this.#disarm();
      }, RECORD_WINDOW_MS);
      this.#stopRecording.unref();
    }
  }

  /** A message read from Mongrel2 server `server`: its connection is being served by this dispatcher. */
  noteRequest(server: number, frame: Buffer): void {
    if (!this.#recording) return;
    const peeked = peekConnection(frame);
    if (peeked === undefined) return;
    if (!this.#sender.has(server)) this.#sender.set(server, peeked.connection.slice(0, peeked.connection.indexOf(' ')));
    this.touched(server, peeked.connection);
  }

  /** Connection `SENDER SP CONN_ID` of server `server` is answered through this dispatcher. */
  touched(server: number, connection: string): void {
    if (!this.#recording) return;
    const spec = this.#controlOf[server];
    if (spec === undefined) return;
    const id = Number(connection.slice(connection.lastIndexOf(' ') + 1));
    if (Number.isSafeInteger(id)) this.#seen.get(spec)?.add(id);
  }

  /** A worker reported that dispatcher `instance`, not this one, vanished with its requests. */
  predecessorDied(instance: string): void {
    if (this.#state !== 'armed') return;
    if (!this.#recording) {
      this.#opts.logger.warn({ event: 'dispatcher.crash.unswept', predecessor: instance, controlSpecs: this.#opts.controlSpecs.length }, 'predecessor crashed, but no control port is configured (or the report came too late): its lost requests are not swept');
      this.#state = 'done';
      return;
    }
    this.#state = 'scheduled';
    this.#opts.logger.warn({ event: 'dispatcher.crash.detected', predecessor: instance, graceMs: this.#opts.graceMs }, 'a worker reports that the previous dispatcher vanished: sweeping its lost requests after the grace period');
    this.#schedule(this.#opts.graceMs);
  }

  /** Stop: no sweep runs after this. */
  close(): void {
    clearTimeout(this.#timer);
    this.#disarm();
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      // Requests still waiting in Mongrel2 (the dispatcher is not reading) have not been seen yet: not now.
      if (!this.#opts.accepting()) return this.#schedule(100);
      void this.#sweep();
    }, delayMs);
    this.#timer.unref();
  }

  async #sweep(): Promise<void> {
    this.#pass += 1;
    const endpoints = [...this.#seen.keys()];
    for (const endpoint of endpoints) {
      try {
        const result = await this.#sweepOne(endpoint);
        this.#opts.stats.recovered('swept', result.killed + result.closed + result.answered503);
        this.#opts.logger.warn({ event: 'dispatcher.crash.swept', pass: this.#pass, ...result }, 'connections whose requests died with the previous dispatcher closed');
      } catch (err) {
        this.#opts.logger.error({ event: 'dispatcher.crash.sweep.failed', endpoint, error: errorMessage(err) }, 'could not sweep the previous dispatcher\'s lost requests: their clients wait until they give up');
      }
    }
    if (this.#pass < PASSES && this.#state === 'scheduled') this.#schedule(this.#opts.graceMs);
    else this.#disarm();
  }

  async #sweepOne(endpoint: string): Promise<SweepResult> {
    const control = new Mongrel2Control(endpoint, this.#opts.timeoutMs);
    const rows = await control.connections();
    const server = this.#controlOf.findIndex((spec, i) => spec === endpoint && this.#sender.has(i));
    const sender = this.#sender.get(server);
    const seen = this.#seen.get(endpoint) ?? new Set<number>();
    let seenCount = 0;
    let idle = 0;
    let sockets = 0;
    const unidentifiedRows: Mongrel2ConnectionRow[] = [];
    let answered503 = 0;
    let closed = 0;
    let killed = 0;
    let killFailed = 0;
    for (const row of rows) {
      if (row.id < 0 || row.type === Mongrel2ConnectionType.UNKNOWN) {
        unidentifiedRows.push(row); // no request reached a handler yet
        continue;
      }
      if (row.type !== Mongrel2ConnectionType.HTTP) {
        sockets += 1;
        continue;
      }
      if (seen.has(row.id)) {
        seenCount += 1;
        continue;
      }
      if (answered(row)) {
        idle += 1;
        continue;
      }
      if (sender !== undefined) {
        this.#opts.close(server, `${sender} ${row.id}`, waiting(row) ? 'error' : 'close');
        if (waiting(row)) answered503 += 1;
        else closed += 1;
        continue;
      }
      // Checked again after every await: a request read meanwhile makes it one of ours.
      if (seen.has(row.id)) continue;
      const answer = await control.kill(row.id);
      if (answer.includes('OK')) killed += 1;
      else killFailed += 1;
    }
    return { endpoint, connections: rows.length, seen: seenCount, idle, sockets, unidentified: unidentifiedRows.length, unidentifiedRows: unidentifiedRows.slice(0, 5), answered503, closed, killed, killFailed };
  }

  #disarm(): void {
    this.#state = 'done';
    this.#recording = false;
    this.#seen.clear();
    clearTimeout(this.#stopRecording);
  }
}
