/**
 * Direct topology transport: one {@link Mongrel2Link} per Mongrel2 server. The i-th `--send-spec` pairs with
 * the i-th `--recv-spec`; a reply always leaves through the link its request came in on, so connection ids
 * of different servers never collide (mongrel2-protocol.md §5.3).
 * @module
 */
import { ConfigError } from '../errors';
import { Mongrel2Link } from './mongrel2-link';
import type { Transport } from './transport';

/** Settings for {@link Mongrel2Transport}. */
export interface Mongrel2TransportOptions {
  readonly sendSpecs: readonly string[];
  readonly recvSpecs: readonly string[];
  /** @default 1 */
  readonly receiveHighWaterMark: number;
  /** @default 5000 */
  readonly sendTimeoutMs: number;
  /** Called when a link loses Mongrel2 or gets it back. */
  readonly onLinkReadyChange?: (link: Mongrel2Link, ready: boolean) => void;
}

/** Every link to every configured Mongrel2 server. */
export class Mongrel2Transport implements Transport {
  readonly links: readonly Mongrel2Link[];

  constructor(options: Mongrel2TransportOptions) {
    if (options.sendSpecs.length === 0 || options.sendSpecs.length !== options.recvSpecs.length) {
      throw new ConfigError([
        `need one --recv-spec per --send-spec (got ${options.sendSpecs.length} send, ${options.recvSpecs.length} recv)`,
      ]);
    }
    const onChange = options.onLinkReadyChange;
    this.links = options.sendSpecs.map((sendSpec, i) => {
      const link: Mongrel2Link = new Mongrel2Link({
        sendSpec,
        recvSpec: options.recvSpecs[i] ?? '',
        receiveHighWaterMark: options.receiveHighWaterMark,
        sendTimeoutMs: options.sendTimeoutMs,
        ...(onChange === undefined ? {} : { onReadyChange: (ready: boolean) => onChange(link, ready) }),
      });
      return link;
    });
  }

  async start(timeoutMs: number): Promise<void> {
    await Promise.all(this.links.map((link) => link.whenReady(timeoutMs)));
  }

  connectedCount(): number {
    return this.links.filter((link) => link.ready).length;
  }

  async close(lingerMs: number): Promise<void> {
    await Promise.all(this.links.map((link) => link.close(lingerMs)));
  }
}
