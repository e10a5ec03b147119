/**
 * Push from anywhere, rooms, disconnect events, SSE and long-poll in the dispatch topology (issue #20): a real
 * `m2pool start` pool (dispatcher + 2 workers) behind TWO real Mongrel2 servers, driven by real clients — the `ws`
 * package, a raw SSE reader over node:http, plain HTTP. The app is the chat example plus test routes
 * (test/fixtures/push-app.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type WebSocket from 'ws';
import type { PoolSnapshot } from '../../src/supervisor/control/pool-snapshot';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { get, member, metricSum, post, sse, type Member } from '../helpers/push-clients';
import { CLI, REPO_ROOT, spawnNode, type TestProcess } from '../helpers/processes';
import { adminCall } from '../helpers/supervisor-harness';
import { waitFor } from '../helpers/wait-for';

const PUSH_APP = path.join(REPO_ROOT, 'dist/test/fixtures/push-app.js');
const POLL_TIMEOUT_MS = 1_500;

describe('push and rooms, dispatch topology, 2 workers, 2 Mongrel2 servers', { timeout: 120_000 }, () => {
  let a: TestMongrel2;
  let b: TestMongrel2;
  let pool: TestProcess;
  let adminPort: number;
  let dir: string;
  const eventsFile = (): string => path.join(dir, 'events.log');
  const clients: WebSocket[] = [];
  const open = async (m2: TestMongrel2, p: string): Promise<Member> => {
    const m = await member(`ws://127.0.0.1:${m2.port}${p}`);
    clients.push(m.ws);
    return m;
  };
  const poolDoc = async (): Promise<PoolSnapshot> => (await adminCall(adminPort, 'GET', '/pool')).body as unknown as PoolSnapshot;
  const events = async (): Promise<string[]> => (await readFile(eventsFile(), 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');

  before(async () => {
    a = await startTestMongrel2();
    b = await startTestMongrel2();
    dir = await mkdtemp(path.join(tmpdir(), 'm2push-'));
    adminPort = await freePort();
    pool = spawnNode(
      [CLI, 'start', '--app', PUSH_APP, ...a.workerArgs(), ...b.workerArgs(), '--workers', '2', '--admin', `127.0.0.1:${adminPort}`, '--run-dir', path.join(dir, 'run')],
      { env: { PUSH_EVENTS_FILE: path.join(dir, 'events.log'), CHAT_POLL_TIMEOUT_MS: String(POLL_TIMEOUT_MS) } },
    );
    await pool.waitForLog((l) => l['event'] === 'pool.ready', 30_000);
    await waitFor(async () => ((await poolDoc()).ready === 2 ? true : undefined), { timeoutMs: 20_000, what: '2 ready workers' });
  });
  after(async () => {
    for (const ws of clients) ws.terminate();
    await pool?.stop(10_000);
    await a?.stop();
    await b?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('a broadcast reaches every WebSocket, SSE and long-poll member on both servers, in one room order', async (t) => {
    const sockets = [await open(a, '/chat/ws/r1'), await open(b, '/chat/ws/r1'), await open(a, '/chat/ws/r1'), await open(b, '/chat/ws/r1')];
    const stream = await sse(b.port, '/chat/sse/r1');
    t.after(() => stream.close());
    assert.equal(stream.status, 200);
    assert.equal(stream.contentType, 'text/event-stream');
    const poll = get(a.port, '/chat/poll/r1');
    // Membership is in place once the stream's head arrived and the poll is parked: ask the hub.
    await waitFor(async () => ((JSON.parse((await get(a.port, '/t/members/r1')).body) as string[]).length === 6 ? true : undefined), { what: '6 members in r1' });
    // Every member sends one message, the HTTP client one more, alternating servers.
    sockets.forEach((s, i) => s.ws.send(`from ${i}`));
    assert.equal(await post(b.port, '/chat/say/r1', 'from http'), 204);
    const seen = await Promise.all(sockets.map((s) => s.first(5)));
    for (const got of seen) {
      assert.deepEqual(got, seen[0], 'every member sees the room order');
      assert.deepEqual([...got].sort(), ['from 0', 'from 1', 'from 2', 'from 3', 'from http']);
    }
    await waitFor(() => (stream.data.length >= 5 ? true : undefined), { what: 'SSE events' });
    assert.deepEqual(stream.data.slice(0, 5), seen[0]);
    const answered = await poll;
    assert.equal(answered.status, 200);
    assert.equal(answered.body, seen[0]?.[0], 'the poll got the first message after it parked');
    // 5 broadcasts to 6 members (the poll left after the first): counted by the dispatcher.
    await waitFor(async () => ((await metricSum(adminPort, 'm2pool_dispatcher_push_deliveries_total')) >= 26 ? true : undefined), { what: 'push deliveries counted' });
    assert.ok((await metricSum(adminPort, 'm2pool_dispatcher_push_operations_total')) >= 5);
  });

  test('frames of the members were handled by both workers; pushes cross Mongrel2 servers', async () => {
    const pids = new Set<string>();
    const mine = [];
    for (let i = 0; i < 6; i++) {
      const m = await open(i % 2 === 0 ? a : b, '/t/ws');
      // Two frames each: the scheduler alternates idle workers, so handshakes alone would all land on one.
      const me = (await m.ask('whoami')).split(' ');
      pids.add(me[2] as string);
      pids.add((await m.ask('whoami')).split(' ')[2] as string);
      mine.push({ m, conn: me[1] as string });
    }
    assert.equal(pids.size, 2, 'both workers handled frames');
    // A push from a request on server A to a connection on server B, and to several at once.
    const target = mine[1]!;
    assert.equal(await post(a.port, `/t/push?to=${encodeURIComponent(target.conn)}&n=3`, 'hello'), 204);
    assert.deepEqual((await target.m.first(5)).slice(2), ['hello 0', 'hello 1', 'hello 2']);
    const all = mine.map((x) => `to=${encodeURIComponent(x.conn)}`).join('&');
    assert.equal(await post(b.port, `/t/push?${all}&n=1`, 'everyone'), 204);
    for (const x of mine) await x.m.first(x === target ? 6 : 3, 'the push to every connection');
    for (const x of mine) assert.equal(x.m.got.at(-1), 'everyone 0');
  });

  test('pushes to one connection from one sender keep their order (from a request and from a timer)', async () => {
    const m = await open(b, '/t/ws');
    const conn = (await m.ask('whoami')).split(' ')[1] as string;
    assert.equal(await post(a.port, `/t/push?to=${encodeURIComponent(conn)}&n=300`, 'seq'), 204);
    const got = await m.first(301);
    assert.deepEqual(got.slice(1), Array.from({ length: 300 }, (_, i) => `seq ${i}`));
    assert.equal(await post(a.port, `/t/later?to=${encodeURIComponent(conn)}&n=200`, 'timer'), 204);
    const later = await m.first(501);
    assert.deepEqual(later.slice(301), Array.from({ length: 200 }, (_, i) => `timer ${i}`));
  });

  test('a member that drops leaves every room at once; its disconnect event and close handler run once, on one worker', async () => {
    const x = await open(a, '/t/ws');
    const y = await open(b, '/t/ws');
    const conn = (await x.ask('whoami')).split(' ')[1] as string;
    const other = (await y.ask('whoami')).split(' ')[1] as string;
    for (const room of ['d1', 'd2']) {
      assert.equal(await x.ask(`join ${room}`), `joined ${room}`);
      assert.equal(await y.ask(`join ${room}`), `joined ${room}`);
    }
    assert.match((await get(a.port, '/t/members/d1')).body, new RegExp(conn));
    x.ws.terminate(); // the TCP connection just drops: no close frame
    for (const room of ['d1', 'd2']) {
      await waitFor(async () => (!(await get(b.port, `/t/members/${room}`)).body.includes(conn) ? true : undefined), { what: `${conn} out of ${room}` });
    }
    // Then the second one closes properly (close frame): it leaves too, its close handler ran for the frame.
    y.ws.close(1000);
    await waitFor(async () => (!(await get(b.port, '/t/members/d1')).body.includes(other) ? true : undefined), { what: `${other} out of d1` });
    await waitFor(async () => ((await events()).some((l) => l.startsWith(`disconnect ${other} `)) ? true : undefined), { what: 'the second disconnect event' });
    const lines = await events();
    assert.deepEqual(lines.filter((l) => l.startsWith(`disconnect ${conn} `)).length, 1, lines.join('\n'));
    assert.deepEqual(lines.filter((l) => l.startsWith(`close ${conn} 1006 `)).length, 1, lines.join('\n'));
    assert.deepEqual(lines.filter((l) => l.startsWith(`close ${other} `)).map((l) => l.split(' ')[2]), ['1000'], 'one close handler run for the close frame');
    assert.deepEqual(lines.filter((l) => l.startsWith(`disconnect ${other} `)).length, 1);
  });

  test('a long-poll is answered 204 at its deadline and holds no worker slot while parked', async () => {
    const started = Date.now();
    const polls = await Promise.all([get(a.port, '/chat/poll/quiet'), get(b.port, '/chat/poll/quiet')]);
    assert.deepEqual(polls.map((p) => p.status), [204, 204]);
    assert.ok(Date.now() - started >= POLL_TIMEOUT_MS - 50, 'not before the deadline');
  });

  test('kill -9 of every worker loses no membership', async () => {
    const sockets = [await open(a, '/chat/ws/k1'), await open(b, '/chat/ws/k1')];
    const before = await poolDoc();
    const pids = before.workers.map((w) => w.pid).filter((pid): pid is number => typeof pid === 'number');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await waitFor(async () => {
      const p = await poolDoc();
      return p.ready === 2 && p.workers.every((w) => w.pid !== null && !pids.includes(w.pid)) ? true : undefined;
    }, { timeoutMs: 30_000, what: 'two new workers' });
    assert.equal(await post(a.port, '/chat/say/k1', 'after the crash'), 204);
    for (const s of sockets) assert.deepEqual(await s.first(1), ['after the crash']);
  });

  test('a burst to a member that does not read: Mongrel2 cuts it off past its 16-message queue and it leaves its rooms', async () => {
    const fast = await open(a, '/t/ws');
    const slow = await open(a, '/t/ws');
    const slowConn = (await slow.ask('whoami')).split(' ')[1] as string;
    assert.equal(await fast.ask('join flood'), 'joined flood');
    assert.equal(await slow.ask('join flood'), 'joined flood');
    const closed = new Promise<void>((resolve) => slow.ws.once('close', () => resolve()));
    // The slow client stops reading: once the kernel buffers are full, Mongrel2's queue for it fills.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // 400 broadcasts of 64 KiB, one per event-loop turn (so none are merged): 26 MB, more than loopback buffers hold.
    const n = 400;
    assert.equal(await post(a.port, `/t/flood/flood?n=${n}&size=65536`), 204);
    await waitFor(async () => (!(await get(a.port, '/t/members/flood')).body.includes(slowConn) ? true : undefined), { what: 'the slow member out of the room' });
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await closed;
    assert.ok(slow.got.length - 2 < n, `the slow member was cut off (it got ${slow.got.length - 2} of ${n})`);
    // A member that reads gets the messages in order with no gap — all of them, unless it drains its socket slower
    // than 64 KiB per turn arrive (a Node client on this 2-core machine was cut off too, after ~300): Mongrel2 gives
    // handlers no back-pressure, so m2pool documents this (README "Push, rooms and events") rather than hide it.
    await waitFor(() => (fast.got.length >= 1 + n || fast.ws.readyState === fast.ws.CLOSED ? true : undefined), { timeoutMs: 30_000, what: 'the reading member to get all or be cut off' });
    const seq = fast.got.slice(1).map((m) => m.split(' ')[0]);
    assert.deepEqual(seq, Array.from({ length: seq.length }, (_, i) => String(i)), 'in order, no gap');
    process.stdout.write(`# flood of ${n} x 64 KiB: the member that did not read got ${slow.got.length - 2} before Mongrel2 closed it; the reading one ${seq.length}${seq.length < n ? ' (then cut off)' : ''}\n`);
  });

  test('a dispatcher restart forgets membership (documented): members stay connected and can join again', async () => {
    const x = await open(a, '/t/ws');
    const y = await open(b, '/t/ws');
    assert.equal(await x.ask('join z1'), 'joined z1');
    assert.equal(await y.ask('join z1'), 'joined z1');
    assert.equal((JSON.parse((await get(a.port, '/t/members/z1')).body) as string[]).length, 2);
    const before = (await poolDoc()).dispatcher;
    assert.ok(before !== null && before.pid !== null);
    const killedAt = performance.now();
    process.kill(before.pid, 'SIGKILL');
    await waitFor(async () => {
      const p = await poolDoc();
      return p.dispatcher !== null && p.dispatcher.pid !== before.pid && p.dispatcher.state === 'ready' && p.ready === 2 ? true : undefined;
    }, { timeoutMs: 30_000, what: 'a new dispatcher and both workers back' });
    const members = await waitFor(async () => {
      const r = await get(a.port, '/t/members/z1');
      return r.status === 200 ? (JSON.parse(r.body) as string[]) : undefined;
    }, { what: 'members answered by the new dispatcher' });
    process.stdout.write(`# dispatcher restart: serving again ${Math.round(performance.now() - killedAt)} ms after kill -9; room z1 had 2 members, now ${members.length}\n`);
    assert.deepEqual(members, [], 'the new dispatcher starts with no rooms');
    assert.match(await x.ask('whoami'), /^me /, 'the WebSocket itself survived (Mongrel2 holds it)');
    assert.equal(await x.ask('join z1'), 'joined z1');
    assert.equal((JSON.parse((await get(b.port, '/t/members/z1')).body) as string[]).length, 1);
  });
});
