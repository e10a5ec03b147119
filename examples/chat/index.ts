/**
 * Mongrel2's classic chat demo on m2pool (issue #20): rooms held by the dispatcher, reached from any worker.
 * The wire contract, for anyone scripting against it:
 *
 *   WS   /chat/ws/:room    every text message a member sends is broadcast as text to every member of the room,
 *                          the sender included, in the order the room received them
 *   GET  /chat/sse/:room   an event stream: each room message is one event whose `data` is the text
 *   GET  /chat/poll/:room  long-poll: 200 with the next room message as the body, or 204 after 25 s
 *   POST /chat/say/:room   the text/plain body is broadcast to the room; answered 204
 *
 * Rooms need the dispatch topology (the default): in the direct topology these routes answer 501.
 * Run it: README "Push, rooms and events" (m2pool mongrel2 --config examples/chat/mongrel2.conf, then
 * m2pool start --app ./examples/chat). Outside this repository, import from 'm2pool' instead of '../../src'.
 */
import { App, ErrorCode, HttpError, M2PoolError } from '../../src';

/** How long a poll waits for a message: 25 s (CHAT_POLL_TIMEOUT_MS shortens it for tests). */
const POLL_TIMEOUT_MS = Number(process.env['CHAT_POLL_TIMEOUT_MS'] ?? 25_000);
/** Longest message accepted, in bytes. */
const MAX_MESSAGE_BYTES = 16_384;

export const app = new App({ requestTimeoutMs: 10_000 });

/** PUSH_UNAVAILABLE (no rooms in the direct topology) is a 501 for the client, not a 500. */
function noRooms(err: unknown): never {
  if (err instanceof M2PoolError && err.code === ErrorCode.PUSH_UNAVAILABLE) throw new HttpError(501, err.message, { expose: true });
  throw err;
}

function roomOf(params: Record<string, string | undefined>): string {
  const room = params['room'] ?? '';
  if (!/^[\w.-]{1,64}$/.test(room)) throw new HttpError(400, 'a room name is 1-64 letters, digits, "_", "-" or "."', { expose: true });
  return room;
}

app.websocket('/chat/ws/:room', {
  open: async (ctx) => {
    await app.push.join(roomOf(ctx.params), ctx.conn).catch(noRooms);
  },
  message: async (ctx, msg) => {
    if (msg.text === undefined) return; // text only
    await app.push.broadcast(roomOf(ctx.params), msg.text);
  },
}, { maxMessageBytes: MAX_MESSAGE_BYTES });

app.get('/chat/sse/:room', (ctx) => {
  try {
    return app.push.stream(ctx, { rooms: [roomOf(ctx.params)] });
  } catch (err) {
    return noRooms(err);
  }
});

app.get('/chat/poll/:room', (ctx) => {
  try {
    return app.push.park(ctx, { room: roomOf(ctx.params), timeoutMs: POLL_TIMEOUT_MS, timeoutStatus: 204 });
  } catch (err) {
    return noRooms(err);
  }
});

app.post('/chat/say/:room', async (ctx) => {
  const room = roomOf(ctx.params);
  const text = ctx.req.body.toString('utf8');
  if (text.length === 0 || ctx.req.body.length > MAX_MESSAGE_BYTES) throw new HttpError(400, `a message is 1-${MAX_MESSAGE_BYTES} bytes of text/plain`, { expose: true });
  await app.push.broadcast(room, text).catch(noRooms);
  return ctx.res.empty(204);
});
