/**
 * Issue #18 item 4: what a peer that registered like a worker may do, against a real Mongrel2 and a real
 * `m2pool dispatcher`. It cannot write to a connection it was not given (the dispatcher checks every reply's
 * address), cannot take all the traffic by claiming a huge capacity (clamped to --max-worker-credit), and cannot
 * hold clients forever by heartbeating without answering (--request-timeout-ms: 504, its late reply dropped).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { encodeReply } from '../../src/protocol/reply-writer';
import { serializeResponse } from '../../src/protocol/http-response';
import { Tag } from '../../src/transport/dispatch-wire';
import { startTestDispatcher, type TestDispatcher } from '../helpers/dispatcher';
import { HttpConnection, buildRequest, rawRequest } from '../helpers/http-client';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { HELLO_APP } from '../helpers/processes';
import { connectRogue, type RoguePeer, type RogueRequest } from '../helpers/rogue-worker';
import { waitFor } from '../helpers/wait-for';

/** One reply frame of `sender` to `connIds` (one frame: fewer than 129 ids). */
function replyFrame(sender: string, connIds: number[], text: string): Buffer {
  return encodeReply(sender, connIds, response(text))[0] as Buffer;
}

function response(text: string): Buffer {
  return serializeResponse({ version: 'HTTP/1.1', status: 200, headers: [['Content-Type', 'text/plain']] }, Buffer.from(text));
}

/** A well-formed answer to `req` (its own connection) and its DONE. */
function answer(req: RogueRequest, text: string): Array<[number, number, number, Buffer?]> {
  return [
    [Tag.REPLY, req.id, req.server, replyFrame(req.sender, [req.connId], text)],
    [Tag.DONE, req.id, req.server],
  ];
}

async function setup(t: TestContext, flags: readonly string[]): Promise<{ m2: TestMongrel2; dispatcher: TestDispatcher; metric: (name: string) => Promise<number> }> {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const adminPort = await freePort();
  const dispatcher = await startTestDispatcher(m2, ['--admin', `127.0.0.1:${adminPort}`, ...flags]);
  t.after(() => dispatcher.proc.stop());
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return { m2, dispatcher, metric };
}

async function rogue(t: TestContext, dispatcher: TestDispatcher, capacity: number): Promise<RoguePeer> {
  const peer = await connectRogue(dispatcher.endpoint, capacity);
  t.after(() => peer.close());
  return peer;
}

test('replies addressed to a connection the worker was not given never reach it; its own replies do', { timeout: 30_000 }, async (t) => {
  const { m2, dispatcher, metric } = await setup(t, []);
  const peer = await rogue(t, dispatcher, 10);
  // The victim's connection: its request is held by the peer, unanswered for now.
  const victim = await HttpConnection.open(m2.port);
  t.after(() => victim.close());
  victim.send(buildRequest({ path: '/echo/victim' }));
  await peer.waitRequests(1);
  const victimReq = peer.requests[0]!;
  // The attacker's own request, whose reply frames the peer addresses elsewhere.
  const attacker = rawRequest(m2.port, { path: '/echo/attacker' });
  await peer.waitRequests(2);
  const own = peer.requests[1]!;
  const forged: Array<[number, number, number, Buffer?]> = [];
  for (let i = 0; i < 20; i++) forged.push([Tag.REPLY, own.id, own.server, replyFrame(own.sender, [victimReq.connId], `hijacked ${i}`)]);
  for (let i = 0; i < 10; i++) forged.push([Tag.REPLY, own.id, own.server, replyFrame(own.sender, [own.connId, victimReq.connId], `both ${i}`)]);
  for (let i = 0; i < 10; i++) forged.push([Tag.REPLY, own.id, own.server, replyFrame(own.sender, [victimReq.connId + 1000 + i], `guessed ${i}`)]);
  await peer.send(forged);
  await peer.send(answer(own, 'attacker answered'));
  const attacked = await attacker;
  assert.equal(attacked.body.toString(), 'attacker answered', 'a reply to its own connection passes');
  await waitFor(async () => (await metric('m2pool_dispatcher_misaddressed_replies_total')) === 40, { what: '40 misaddressed replies counted' });
  // The victim's first bytes are the answer to its own request: nothing forged came before it.
  await peer.send(answer(victimReq, 'victim answered'));
  const got = await victim.read({ timeoutMs: 10_000 });
  assert.equal(got.body.toString(), 'victim answered');
  const logged = dispatcher.proc.logs.filter((l) => l['event'] === 'dispatcher.reply.misaddressed');
  assert.equal(logged.length, 1, 'logged once per worker, counted every time');
  assert.equal(await metric('m2pool_dispatcher_late_replies_total'), 0);
});

test('a HELLO claiming 10^12 credit is clamped: requests spread to a real second worker', { timeout: 40_000 }, async (t) => {
  const { m2, dispatcher, metric } = await setup(t, ['--max-worker-credit', '4']);
  const peer = await rogue(t, dispatcher, 1e12);
  const worker = await dispatcher.worker(HELLO_APP, ['--max-in-flight', '4']);
  t.after(() => worker.stop());
  await waitFor(async () => (await metric('m2pool_dispatcher_workers')) === 2, { what: 'both registered' });

  const N = 20;
  const clients = Array.from({ length: N }, (_, i) => rawRequest(m2.port, { path: `/echo/spread-${i}` }, { timeoutMs: 20_000 }));
  // The peer holds what it gets; the real worker must serve all the rest.
  const served = await waitFor(async () => {
    const n = await metric('m2pool_dispatcher_requests_dispatched_total');
    return n >= N ? n : undefined;
  }, { what: 'every request dispatched', timeoutMs: 20_000 });
  assert.equal(served, N);
  // It holds every request it gets, so it never gets more than its clamped credit; the first one is its own (both
  // had 4 free, it registered first). How many more it got depends on how fast the real worker frees its credit.
  const held = peer.requests.length;
  assert.ok(held >= 1 && held <= 4, `the clamped peer got ${held} requests, at most its 4 credits`);
  assert.equal(await metric('m2pool_dispatcher_credit_clamped_total'), 1);
  assert.ok(dispatcher.proc.logs.some((l) => l['event'] === 'dispatcher.worker.credit-clamped' && l['claimed'] === 1e12 && l['capacity'] === 4));
  await peer.send(peer.requests.flatMap((r) => answer(r, `rogue ${r.connId}`)));
  const results = await Promise.all(clients);
  assert.ok(results.every((r) => r.status === 200));
  const byRealWorker = results.filter((r) => r.body.toString().startsWith('/echo/spread-')).length;
  assert.equal(byRealWorker, N - held);
});

test('clients of a peer that heartbeats but never answers get 504 after --request-timeout-ms; its late replies are dropped', { timeout: 30_000 }, async (t) => {
  const TIMEOUT_MS = 1_500;
  const { m2, dispatcher, metric } = await setup(t, ['--request-timeout-ms', String(TIMEOUT_MS)]);
  const peer = await rogue(t, dispatcher, 8);
  const N = 6;
  const clients = Array.from({ length: N }, async (_, i) => {
    const sent = performance.now();
    const res = await rawRequest(m2.port, { path: `/echo/held-${i}` }, { timeoutMs: 20_000 });
    return { res, waited: performance.now() - sent };
  });
  const results = await Promise.all(clients);
  for (const { res, waited } of results) {
    assert.equal(res.status, 504);
    assert.equal(res.header('connection'), 'close');
    assert.ok(waited >= TIMEOUT_MS, `answered after the deadline, not before (${Math.round(waited)} ms)`);
  }
  assert.equal(peer.requests.length, N);
  assert.equal(await metric('m2pool_dispatcher_failed_requests_total{reason="request-timeout"}'), N);
  // The peer finally answers: every reply is late, dropped and counted; its DONEs give its credit back.
  await peer.send(peer.requests.flatMap((r) => answer(r, 'too late')));
  await waitFor(async () => (await metric('m2pool_dispatcher_late_replies_total')) === N, { what: 'late replies counted' });
  await waitFor(async () => (await metric('m2pool_dispatcher_credit_in_use')) === 0, { what: 'credit back after the DONEs' });
});
