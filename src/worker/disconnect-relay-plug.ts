/**
 * The worker's half of the disconnect relay, a plug of the direct topology only.
 *
 * Mongrel2 hands each disconnect notice to whichever worker its PUSH picks next, not to the worker that holds
 * the connection's request (docs/mongrel2.md, "disconnect notices"). So in the direct topology the pool relays:
 * a worker reports connections whose requests have waited at least a heartbeat interval, the supervisor turns
 * relaying on, a worker that gets a notice for a connection it does not know passes it up, and the supervisor
 * hands it to the worker that reported it. Transports that route notices right (`misroutesNotices` false, the
 * dispatcher) never install this plug. The supervisor's half is `supervisor/arbiter/disconnect-relay.ts`.
 * @module
 */
import type { Logger } from 'pino';
import type { SupervisorMessage, WorkerMessage } from '../ipc/messages';

/** What the plug needs from the runtime. */
export interface RelayTarget {
  /** Pass unclaimed notices up (the supervisor toggles it). */
  relayDisconnects: boolean;
  abortConnection(key: string): number;
  waitingConnections(minAgeMs: number): string[];
}

/** The installed plug: feed it supervisor messages; it reports waiting connections for the heartbeat. */
export interface DisconnectRelayPlug {
  /** Handles the relay's supervisor messages; returns false for any other message. */
  handle(msg: SupervisorMessage): boolean;
  /** Connections to report in the heartbeat. */
  waiting(minAgeMs: number): readonly string[];
  /** For `RuntimeOptions.onUnclaimedDisconnect`. */
  unclaimed(key: string): void;
}

/** Build the worker side of the relay over `target` (the runtime), sending through `send`. */
export function disconnectRelayPlug(target: () => RelayTarget, send: (msg: WorkerMessage) => void, logger: Logger): DisconnectRelayPlug {
  return {
    handle(msg) {
      switch (msg.type) {
        case 'm2pool:relay-disconnects':
          target().relayDisconnects = msg.on;
          return true;
        case 'm2pool:disconnect': {
          const aborted = target().abortConnection(msg.key);
          if (aborted > 0) logger.debug({ event: 'request.disconnect-relayed', aborted }, 'request.disconnect-relayed');
          return true;
        }
        default:
          return false;
      }
    },
    waiting: (minAgeMs) => target().waitingConnections(minAgeMs),
    unclaimed: (key) => send({ type: 'm2pool:disconnect', key }),
  };
}
