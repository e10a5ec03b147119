/**
 * A handler's way of leaving its connection open after its request is over: an SSE stream whose
 * events come later by push, or a long-poll answered later by a push from any worker or by its deadline. The
 * handler returns a `Parked`; the framework writes its head (if any), runs its hub step (join the rooms, park at
 * the dispatcher) and ends the request there — no response, no close — so it holds no in-flight slot and no
 * dispatcher grant while it waits.
 * @module
 */
import type { ResponseOutlet } from '../http/outlet';
import type { Request } from '../http/request';
import type { ResponseHead } from '../http/response-head';

const EMPTY = Buffer.alloc(0);

/** What a handler returns to park its connection (made by `app.push.stream()` or `app.push.park()`). */
export class Parked {
  /**
   * @param status The status reported in metrics and the request log (200 for a stream; 0 for a parked poll,
   *   whose answer is sent later by the dispatcher).
   * @param head Sent now as the request's reply (the stream's response head), before the hub step.
   * @param hubStep What to tell the room hub once the head is out (join, park); throws when it cannot.
   * @param first Body bytes sent with the head (an event stream's `retry:` field).
   */
  constructor(
    readonly status: number,
    readonly head: ResponseHead | undefined,
    readonly hubStep: () => Promise<void> | void,
    readonly first: Buffer = EMPTY,
  ) {}

  /** Send the head, then run the hub step: pushes that follow the join reach the client after the head. */
  async commit(out: ResponseOutlet): Promise<void> {
    if (this.head !== undefined) await out.open(this.head, this.first);
    await this.hubStep();
  }
}

/** The `Last-Event-ID` a reconnecting EventSource sends (the `id` of the last event it got), if any. */
export function lastEventId(req: Request): string | undefined {
  const value = req.header('last-event-id');
  return value === undefined || value === '' ? undefined : value;
}
