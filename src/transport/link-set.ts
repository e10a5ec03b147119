/**
 * What every transport does the same way over its links: readiness listeners, start (every link ready), the
 * connected count, close. Implementations build their links and call {@link LinkSet.readyChanged}.
 * @module
 */
import type { PushChannel } from './push-channel';
import type { Link, ReadyChangeListener, Topology, Transport } from './transport';

/** A link that can be waited for and closed. */
export interface ManagedLink extends Link {
  whenReady(timeoutMs: number): Promise<void>;
  close(lingerMs: number): Promise<void>;
}

/** Base of the transports: everything but building the links. */
export abstract class LinkSet<L extends ManagedLink> implements Transport {
  abstract readonly topology: Topology;
  abstract readonly misroutesNotices: boolean;
  abstract readonly links: readonly L[];
  abstract readonly pushes: PushChannel;
  readonly #listeners: ReadyChangeListener[] = [];

  onReadyChange(listener: ReadyChangeListener): void {
    this.#listeners.push(listener);
  }

  /** Tell the listeners that `link` lost its peer or got it back. */
  protected readyChanged(link: Link, ready: boolean): void {
    for (const listener of this.#listeners) listener(link, ready);
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
