/**
 * A WebSocket whose client dropped without a close frame (Mongrel2's disconnect notice, docs/mongrel2.md §3.1):
 * the route's `close` handler runs with code 1006 (RFC 6455 §7.1.5, "closed abnormally", never sent on the wire),
 * rebuilt from the handshake message the dispatcher kept for the connection. Nothing can be sent any
 * more: the context's sends are dropped.
 * @module
 */
import type { ReplySink } from '../../http/sink';
import type { RawMessage } from '../../protocol/types';
import { invoke } from '../invoke';
import { WebSocketSession, type WebSocketConfig } from './session';

/** RFC 6455 §7.1.5: the connection closed without a close frame. */
export const ABNORMAL_CLOSURE = 1006;

/** A sink for a connection that is gone: everything is dropped. */
const GONE: ReplySink = { write: () => Promise.resolve(), close: () => Promise.resolve() };

/** How the `close` handler of a dropped WebSocket went; `none`: no route or no `close` handler. */
export type DroppedOutcome = 'closed' | 'none' | 'error' | 'timeout';

/** Run the `close` handler of the route `handshake` matched, as for a client that closed with 1006. Never rejects. */
export async function dispatchDropped(config: WebSocketConfig, handshake: RawMessage): Promise<DroppedOutcome> {
  const session = new WebSocketSession(config, handshake, GONE, {}, true);
  const match = session.match;
  if (match.kind !== 'found') return 'none';
  const entry = match.handler;
  const hook = entry.handler.close;
  if (hook === undefined) return 'none';
  const timeoutMs = entry.timeoutMs ?? config.requestTimeoutMs;
  const controller = new AbortController();
  const ctx = session.context(entry, match.params, controller.signal, Date.now() + timeoutMs);
  session.shutHandler(); // nothing reaches a dropped client
  const settled = await invoke(() => hook.call(entry.handler, ctx, { code: ABNORMAL_CLOSURE, reason: '' }), controller, timeoutMs);
  if (settled.kind === 'error') session.log.error({ err: settled.err }, 'websocket close handler failed');
  if (settled.kind === 'timeout') session.log.warn({ timeoutMs }, 'websocket close handler timed out');
  return settled.kind === 'ok' ? 'closed' : settled.kind === 'aborted' ? 'none' : settled.kind;
}
