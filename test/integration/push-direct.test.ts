/**
 * Push in the direct topology (issue #20): workers send straight to the Mongrel2 whose UUID a connection names —
 * across workers and across two Mongrel2 servers — rooms answer the documented error (501 in the chat example:
 * `M2P_ERR_PUSH_UNAVAILABLE`, rooms need the dispatcher), and a dropped client's disconnect event runs once, on
 * the one worker Mongrel2 sent its notice to.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type WebSocket from 'ws';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { get, member, metricSum, post, startPushPool, type Member, type PushPool } from '../helpers/push-clients';
import { waitFor } from '../helpers/wait-for';

describe('push, direct topology', { timeout: 90_000 }, () => {
  let a: TestMongrel2;
  let b: TestMongrel2;
  let one: PushPool; // 1 worker on both servers
  let two: PushPool; // 2 workers on server c
  let c: TestMongrel2;
  const clients: WebSocket[] = [];
  const open = async (m2: TestMongrel2, p: string): Promise<Member> => {
    const m = await member(`ws://127.0.0.1:${m2.port}${p}`);
    clients.push(m.ws);
    return m;
  };

  before(async () => {
    [a, b, c] = await Promise.all([startTestMongrel2(), startTestMongrel2(), startTestMongrel2()]);
    one = await startPushPool([a, b], ['--topology', 'direct', '--workers', '1']);
    two = await startPushPool([c], ['--topology', 'direct', '--workers', '2']);
  });
  after(async () => {
    for (const ws of clients) ws.terminate();
    await Promise.all([one?.stop(), two?.stop()]);
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  });

  test('a push from a request on one Mongrel2 reaches a connection on the other', async () => {
    const onB = await open(b, '/t/ws');
    const conn = (await onB.ask('whoami')).split(' ')[1] as string;
    assert.equal(await post(a.port, `/t/push?to=${encodeURIComponent(conn)}&n=3`, 'cross'), 204);
    assert.deepEqual((await onB.first(4)).slice(1), ['cross 0', 'cross 1', 'cross 2']);
    // Counted by the worker (its snapshots reach /metrics every 2 s).
    await waitFor(async () => ((await metricSum(one.adminPort, 'm2pool_push_messages_total')) >= 3 ? true : undefined), { what: 'm2pool_push_messages_total >= 3' });
  });

  test('pushes reach connections whichever worker handled them; frames went to both workers', async () => {
    const mine: Array<{ m: Member; conn: string }> = [];
    const pids = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const m = await open(c, '/t/ws');
      for (let k = 0; k < 3; k++) pids.add((await m.ask('whoami')).split(' ')[2] as string);
      mine.push({ m, conn: (m.got[0] as string).split(' ')[1] as string });
    }
    assert.equal(pids.size, 2, 'Mongrel2 spread the frames over both workers');
    const to = mine.map((x) => `to=${encodeURIComponent(x.conn)}`).join('&');
    for (let k = 0; k < 4; k++) assert.equal(await post(c.port, `/t/push?${to}&n=2`, `r${k}`), 204);
    for (const x of mine) {
      const got = await x.m.first(3 + 8);
      assert.deepEqual(got.slice(3), ['r0 0', 'r0 1', 'r1 0', 'r1 1', 'r2 0', 'r2 1', 'r3 0', 'r3 1']);
    }
  });

  test('rooms are the documented error: 501 from the chat example, M2P_ERR_PUSH_UNAVAILABLE underneath', async () => {
    assert.equal(await post(a.port, '/chat/say/r', 'hi'), 501);
    assert.equal((await get(a.port, '/chat/poll/r')).status, 501);
    await assert.rejects(member(`ws://127.0.0.1:${a.port}/chat/ws/r`), /handshake answered 501/);
  });

  test('a dropped client: its disconnect event runs once', async () => {
    const x = await open(c, '/t/ws');
    const conn = (await x.ask('whoami')).split(' ')[1] as string;
    x.ws.terminate();
    await waitFor(async () => ((await two.events()).some((l) => l.startsWith(`disconnect ${conn} `)) ? true : undefined), { what: 'the disconnect event' });
    // A later drop's event proves the first one is not still on its way twice.
    const y = await open(c, '/t/ws');
    const other = (await y.ask('whoami')).split(' ')[1] as string;
    y.ws.terminate();
    await waitFor(async () => ((await two.events()).some((l) => l.startsWith(`disconnect ${other} `)) ? true : undefined), { what: 'the second disconnect event' });
    assert.equal((await two.events()).filter((l) => l.startsWith(`disconnect ${conn} `)).length, 1);
  });
});
