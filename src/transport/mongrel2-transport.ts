/**
 * Direct topology transport: one {@link Mongrel2Link} per Mongrel2 server. The i-th `--send-spec` pairs with
 * the i-th `--recv-spec`; a reply always leaves through the link its request came in on, so connection ids
 * of different servers never collide (docs/mongrel2.md §5.3).
 * @module
 */
import { ConfigError } from '../errors';
import { Mongrel2Link } from './mongrel2-link';
import { LinkSet } from './link-set';
import { DirectPushChannel } from './push-channel';

/** Settings for {@link Mongrel2Transport}. */
export interface Mongrel2TransportOptions {
  readonly sendSpecs: readonly string[];
  readonly recvSpecs: readonly string[];
  /** PULL receive high-water mark: the worker's `receiveHwm` (default 16, `WORKER_DEFAULTS` in config/worker-config.ts). */
  readonly receiveHighWaterMark: number;
  /** How long one reply may wait for the socket (the worker's `sendTimeoutMs` setting). */
  readonly sendTimeoutMs: number;
  /** Largest message accepted from Mongrel2 (the worker's `maxRequestBytes`, or the bound derived from Mongrel2's limits). */
  readonly maxMessageBytes?: number | undefined;
  /** A link refused a message over `maxMessageBytes` (and reconnected): for the worker's log. */
  readonly onRefused?: (linkName: string) => void;
}

/** Every link to every configured Mongrel2 server. */
export class Mongrel2Transport extends LinkSet<Mongrel2Link> {
  readonly topology = 'direct';
  /** Mongrel2 round-robins disconnect notices over the workers, whatever connection they are about. */
  readonly misroutesNotices = true;
  readonly links: readonly Mongrel2Link[];
  /** Pushes go straight to the Mongrel2 of their UUID; no room hub. */
  readonly pushes: DirectPushChannel;

  constructor(options: Mongrel2TransportOptions) {
    super();
    if (options.sendSpecs.length === 0 || options.sendSpecs.length !== options.recvSpecs.length) {
      throw new ConfigError([
        `need one --recv-spec per --send-spec (got ${options.sendSpecs.length} send, ${options.recvSpecs.length} recv)`,
      ]);
    }
    this.links = options.sendSpecs.map((sendSpec, server) => {
      const link: Mongrel2Link = new Mongrel2Link({
        sendSpec,
        recvSpec: options.recvSpecs[server] ?? '',
        server,
        receiveHighWaterMark: options.receiveHighWaterMark,
        sendTimeoutMs: options.sendTimeoutMs,
        maxMessageBytes: options.maxMessageBytes,
        ...(options.onRefused === undefined ? {} : { onRefused: options.onRefused }),
        onReadyChange: (ready: boolean) => this.readyChanged(link, ready),
      });
      return link;
    });
    this.pushes = new DirectPushChannel(this.links);
  }

}
