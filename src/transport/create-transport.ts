/**
 * The one place that picks a transport for a worker, so `worker/main.ts` and the runtime stay topology-free.
 * @module
 */
import { DispatcherTransport, type DispatcherTransportOptions } from './dispatcher-transport';
import { Mongrel2Transport } from './mongrel2-transport';
import type { Transport } from './transport';

/** Direct topology: connect to every Mongrel2 server's sockets. */
export interface DirectTransportConfig {
  readonly topology: 'direct';
  /** Mongrel2 `send_spec`s (we connect a PULL to each). */
  readonly sendSpecs: readonly string[];
  /** Mongrel2 `recv_spec`s, same count and order (we connect an XPUB to each). */
  readonly recvSpecs: readonly string[];
  /** PULL receive high-water mark: the worker's `receiveHwm` (default 16, `WORKER_DEFAULTS` in config/worker-config.ts; docs/zeromq.md §2.1). */
  readonly receiveHighWaterMark: number;
  /** How long one reply may wait for the socket before it counts as failed. */
  readonly sendTimeoutMs: number;
  /** ZeroMQ's maximum message size of each PULL (`config/message-limits.ts`). */
  readonly maxMessageBytes?: number | undefined;
  /** A link refused a message over `maxMessageBytes` (and reconnected). */
  readonly onRefused?: (linkName: string) => void;
}

/** Dispatch topology: one DEALER to the pool's dispatcher. */
export interface DispatchTransportConfig extends DispatcherTransportOptions {
  readonly topology: 'dispatch';
}

/** What {@link createTransport} accepts: one member per topology. */
export type TransportConfig = DirectTransportConfig | DispatchTransportConfig;

/** Build the transport a worker's configuration asks for. Throws `ConfigError` on an impossible configuration. */
export function createTransport(config: TransportConfig): Transport {
  switch (config.topology) {
    case 'direct':
      return new Mongrel2Transport(config);
    case 'dispatch':
      return new DispatcherTransport(config);
  }
}
