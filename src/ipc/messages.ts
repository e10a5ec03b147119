/**
 * Typed IPC messages between the supervisor and its workers (Node's child_process IPC channel).
 * Every type is prefixed `m2pool:` so stray messages (pm2 sends a bare 'shutdown' string) are told apart.
 * @module
 */

/** Build one member of a discriminated union (zeromq.js `EventFor` style). */
export type Msg<T extends string, D extends object = Record<never, never>> = { readonly type: T } & D;

/** Worker → supervisor. */
export type WorkerMessage =
  /** Sockets connected (and Mongrel2 subscribed) and the app loaded: the worker serves from now on. */
  | Msg<
      'm2pool:ready',
      {
        readonly pid: number;
        readonly endpoints: number;
        /** A worker's in-flight cap (its grant in the dispatch topology): the capacity the autoscaler divides by. */
        readonly maxInFlight?: number;
      }
    >
  /** Sent from the worker's event loop every heartbeat interval; a blocked loop sends none. */
  | Msg<
      'm2pool:heartbeat',
      {
        readonly inFlight: number;
        /** Mean requests in flight since the previous heartbeat (time-weighted; the autoscaler's utilisation). */
        readonly inFlightMean?: number;
        readonly handled: number;
        /** Event-loop lag measured since the previous heartbeat, in milliseconds. */
        readonly loopLagMs: number;
        readonly rssBytes: number;
        /** Event-loop utilisation (0..1) since the previous heartbeat (`performance.eventLoopUtilization`). */
        readonly eventLoopUtilization?: number;
        /**
         * Connections (opaque keys) with a request in flight for at least a heartbeat interval: a disconnect notice
         * for them may reach another worker (Mongrel2 round-robins notices), which then relays it. Absent when none.
         */
        readonly waiting?: readonly string[];
        /**
         * Links whose Mongrel2 is reachable right now: a direct worker's Mongrel2 links, a dispatch worker's
         * dispatcher link (ready only while the dispatcher has its Mongrel2), the dispatcher's Mongrel2 links.
         */
        readonly linksReady?: number;
        /** The dispatcher only: credit in use per registered worker, keyed by pool slot (or 'external'). */
        readonly grants?: Readonly<Record<string, number>>;
      }
    >
  /** The worker stopped reading and is finishing in-flight work. */
  | Msg<'m2pool:draining', { readonly inFlight: number }>
  /** The worker's serialised metric state (prom-client `getMetricsAsJSON()`), sent periodically and at exit. */
  | Msg<'m2pool:metrics', { readonly metrics: unknown[] }>
  /** A fatal error before or during serving; the worker exits right after with an ExitCode. */
  | Msg<'m2pool:fatal', { readonly code: string; readonly message: string }>
  /** A disconnect notice for a connection this worker has no request of (sent only while relaying is on). */
  | Msg<'m2pool:disconnect', { readonly key: string }>;

/** Supervisor → worker. */
export type SupervisorMessage =
  /** Stop reading, finish in-flight work within `drainTimeoutMs`, flush replies, exit 0. */
  | Msg<'m2pool:shutdown', { readonly drainTimeoutMs: number }>
  /** Change the worker's log level at runtime. */
  | Msg<'m2pool:log-level', { readonly level: string }>
  /** Relay disconnect notices for unknown connections (on while some worker reports `waiting` connections). */
  | Msg<'m2pool:relay-disconnects', { readonly on: boolean }>
  /** Another worker got the disconnect notice of a connection this one reported `waiting`: abort its requests. */
  | Msg<'m2pool:disconnect', { readonly key: string }>;

const WORKER_TYPES: ReadonlySet<string> = new Set<WorkerMessage['type']>([
  'm2pool:ready',
  'm2pool:heartbeat',
  'm2pool:draining',
  'm2pool:metrics',
  'm2pool:fatal',
  'm2pool:disconnect',
]);

const SUPERVISOR_TYPES: ReadonlySet<string> = new Set<SupervisorMessage['type']>([
  'm2pool:shutdown',
  'm2pool:log-level',
  'm2pool:relay-disconnects',
  'm2pool:disconnect',
]);

function hasType(x: unknown, types: ReadonlySet<string>): boolean {
  return typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string'
    && types.has((x as { type: string }).type);
}

/** Guard for messages a supervisor receives from a worker. */
export function isWorkerMessage(x: unknown): x is WorkerMessage {
  return hasType(x, WORKER_TYPES);
}

/** Guard for messages a worker receives from its supervisor. */
export function isSupervisorMessage(x: unknown): x is SupervisorMessage {
  return hasType(x, SUPERVISOR_TYPES);
}

/** Exhaustiveness check for `switch (msg.type)`. */
export function assertNever(x: never): never {
  throw new Error(`unexpected message: ${JSON.stringify(x)}`);
}
