/**
 * Parked connections hold nothing (issue #20): with ONE worker of ONE in-flight slot, parked long-polls and open
 * SSE streams leave the slot (and the dispatcher grant) free, so a later request is served at once and its
 * broadcast answers every parked poll. SSE streams get the dispatcher's heartbeats and see `Last-Event-ID`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { get, post, sse, startPushPool, type PushPool } from '../helpers/push-clients';
import { waitFor } from '../helpers/wait-for';

describe('long-poll and SSE on a pool of one slot', { timeout: 90_000 }, () => {
  let m2: TestMongrel2;
  let pool: PushPool;

  before(async () => {
    m2 = await startTestMongrel2();
    // Polls wait 60 s: if a parked poll held the only slot, the POST below would wait behind it and time out.
    pool = await startPushPool([m2], ['--workers', '1', '--max-in-flight', '1'], { CHAT_POLL_TIMEOUT_MS: '60000' });
  });
  after(async () => {
    await pool?.stop();
    await m2?.stop();
  });

  test('three parked polls and a stream leave the one slot free; one broadcast answers every poll', async (t) => {
    const stream = await sse(m2.port, '/chat/sse/lp');
    t.after(() => stream.close());
    const polls = [get(m2.port, '/chat/poll/lp'), get(m2.port, '/chat/poll/lp'), get(m2.port, '/chat/poll/lp')];
    await waitFor(async () => ((JSON.parse((await get(m2.port, '/t/members/lp')).body) as string[]).length === 4 ? true : undefined), { what: '3 polls and a stream in lp' });
    assert.equal(await post(m2.port, '/chat/say/lp', 'wake up'), 204);
    for (const p of await Promise.all(polls)) assert.deepEqual(p, { status: 200, body: 'wake up' });
    await waitFor(() => (stream.data.includes('wake up') ? true : undefined), { what: 'the event on the stream' });
    // Answered polls left the room; the stream stays.
    assert.deepEqual((JSON.parse((await get(m2.port, '/t/members/lp')).body) as string[]).map((m) => m.split(' ')[1]), ['sse']);
  });

  test('an SSE stream: the app pushes to it from outside the request, sees Last-Event-ID, and gets heartbeats', async (t) => {
    const stream = await sse(m2.port, '/t/sse?hb=200', { 'Last-Event-ID': 'e41' });
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    await waitFor(() => (stream.blocks.length > 0 ? true : undefined), { what: 'the first event' });
    assert.equal(stream.blocks[0], 'id: e1\nevent: hello\ndata: last e41');
    await waitFor(() => (stream.comments >= 3 ? true : undefined), { what: 'three heartbeats' });
  });
});
