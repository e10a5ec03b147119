/**
 * A connecting socket whose peer sent a message over its maximum size is cut off for good: libzmq drops the
 * connection as a protocol error and, unlike after any other disconnect, does not reconnect it (docs/zeromq.md
 * §3.9). Its monitor shows a `disconnect` with no reconnection attempt (`connect:retry`, `connect:delay`,
 * `connect`) after it. This watch tells the two apart, reports the refusal and connects again, so one oversize
 * message costs the link a reconnect, not its life.
 * @module
 */
import type { Socket } from 'zeromq';

/** How long after a disconnect libzmq's own reconnection attempt must have shown before we reconnect. */
export const REFUSAL_GRACE_MS = 1_000;

/**
 * Watch `socket`'s connection to `endpoint`; after a refusal, call `onRefused` and reconnect. Stops by itself
 * when the socket closes.
 */
export function reconnectAfterRefusal(socket: Socket, endpoint: string, onRefused: () => void, graceMs: number = REFUSAL_GRACE_MS): void {
  let timer: NodeJS.Timeout | undefined;
  /** A disconnect is waiting for its reconnection attempt. */
  let waiting = false;
  const settled = (): void => {
    waiting = false;
    clearTimeout(timer);
    timer = undefined;
  };
  const decide = (): void => {
    if (!waiting || socket.closed) return;
    waiting = false;
    onRefused();
    try {
      // NOTE: what the dead session had queued is gone already; this only clears its endpoint record.
      socket.disconnect(endpoint);
    } catch {
      // not connected any more: nothing to clear
    }
    socket.connect(endpoint);
  };
  socket.events.on('disconnect', () => {
    settled();
    waiting = true;
    // After a stalled event loop the timer may run before monitor events that were already waiting: decide only
    // after one more poll phase (setImmediate), in which those events are read.
    timer = setTimeout(() => setImmediate(decide), graceMs);
  });
  for (const event of ['connect', 'connect:delay', 'connect:retry', 'close', 'end'] as const) socket.events.on(event, settled);
}
