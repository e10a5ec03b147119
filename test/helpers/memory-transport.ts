/**
 * A {@link FakeTransport} whose reply sends can misbehave: `push` queues a request frame, `sent` collects the
 * reply frames that were accepted, `fault` makes the next sends throw (synchronously or by rejecting) the way a
 * broken encoder or socket would.
 */
import { FakeLink, FakeTransport } from './fake-link';

/** How `send` misbehaves: not at all, by throwing before it returns a promise, or by rejecting. */
export type SendFault = 'none' | 'throw' | 'reject';

export class MemoryTransport extends FakeTransport {
  readonly sent: Buffer[] = [];
  fault: SendFault = 'none';
  readonly #sentWaiters: Array<{ count: number; resolve: () => void }> = [];

  constructor() {
    // `this` cannot be used before super(); the link's callback reaches the instance through `self`, set right after.
    let self: MemoryTransport | undefined;
    super([new FakeLink({ record: false, onSend: (frame) => (self as MemoryTransport).#accept(frame) })]);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- see above
    self = this;
  }

  /** Queue one inbound frame (delivered to a pending receive at once). */
  push(frame: Buffer): void {
    (this.links[0] as FakeLink).push(frame);
  }

  /** Resolves once at least `count` frames were sent. */
  whenSent(count: number): Promise<void> {
    if (this.sent.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#sentWaiters.push({ count, resolve }));
  }

  #accept(frame: Buffer): Promise<void> {
    if (this.fault === 'throw') throw new Error('send threw synchronously');
    if (this.fault === 'reject') return Promise.reject(new Error('send rejected'));
    this.sent.push(frame);
    for (const w of [...this.#sentWaiters]) {
      if (this.sent.length >= w.count) {
        this.#sentWaiters.splice(this.#sentWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
    return Promise.resolve();
  }
}
