/**
 * ZeroMQ's maximum message size on every socket that faces a peer (issue 18, item 6). An oversize frame makes
 * libzmq drop the sender's connection before it allocates the frame (its only trace is a `disconnect` monitor
 * event: docs/zeromq.md §3.9), so:
 * - a rogue peer on the dispatcher's worker endpoint that sends 64 MiB frames is refused, the dispatcher's peak
 *   RSS (VmHWM) does not grow by the frame, the drop is counted and logged, and requests keep being answered;
 * - a direct worker's request socket refuses a frame over its bound (derived from Mongrel2's limits), reconnects,
 *   and serves the next request.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { Dealer } from 'zeromq';
import { startTestDispatcher } from '../helpers/dispatcher';
import { rawRequest } from '../helpers/http-client';
import { startFakeMongrel2 } from '../helpers/fake-mongrel2';
import { mongrel2Frame } from '../helpers/mongrel2-frames';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { CLI, HELLO_APP, spawnNode } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

const MiB = 1_048_576;
/** What a rogue sends: far above the limits under test, far below what the test machine can spare. */
const ROGUE_FRAME_BYTES = 64 * MiB;

/** Peak resident set of `pid` in bytes (VmHWM: it never goes down, so an allocation between two reads shows). */
async function peakRss(pid: number): Promise<number> {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m !== null, `no VmHWM for pid ${pid}`);
  return Number(m[1]) * 1024;
}

test('the dispatcher refuses an oversize frame from a rogue peer: no RSS jump, counted, logged, requests still answered', { timeout: 60_000 }, async (t) => {
  const m2 = await startTestMongrel2();
  t.after(() => m2.stop());
  const adminPort = await freePort();
  const limit = 8 * MiB;
  const dispatcher = await startTestDispatcher(m2, ['--max-message-bytes', String(limit), '--admin', `127.0.0.1:${adminPort}`]);
  t.after(() => dispatcher.proc.stop());
  const worker = await dispatcher.worker(HELLO_APP);
  t.after(() => worker.stop());
  const res0 = await rawRequest(m2.port, { path: '/echo/before' });
  assert.equal(res0.status, 200);
  const peakBefore = await peakRss(dispatcher.proc.pid);

  // Requests keep flowing while the rogue is refused: one client, one request after the other.
  let answered = 0;
  let failed = 0;
  let running = true;
  const client = (async () => {
    for (let i = 0; running; i++) {
      const r = await rawRequest(m2.port, { path: `/echo/during-${i}` }, { timeoutMs: 5_000 }).catch(() => undefined);
      if (r?.status === 200 && r.body.toString() === `/echo/during-${i}`) answered += 1;
      else failed += 1;
    }
  })();

  const rogue = new Dealer({ linger: 0, reconnectInterval: 60_000 });
  t.after(() => rogue.close());
  const dropped: string[] = [];
  rogue.events.on('disconnect', () => dropped.push('disconnect'));
  rogue.connect(dispatcher.endpoint);
  const frame = Buffer.alloc(ROGUE_FRAME_BYTES, 0x41);
  await rogue.send([Buffer.from([0x42]), frame]);
  await waitFor(() => dropped.length > 0, { timeoutMs: 20_000, what: 'the dispatcher to drop the rogue connection' });
  const line = await dispatcher.proc.waitForLog((l) => l['event'] === 'dispatcher.peer.dropped');
  assert.equal(line['maxMessageBytes'], limit);
  const served = answered;
  await waitFor(() => answered >= served + 20, { timeoutMs: 20_000, what: 'requests answered after the refusal' });
  running = false;
  await client;
  assert.equal(failed, 0, `${failed} requests failed around the refusal (${answered} answered)`);

  const growth = (await peakRss(dispatcher.proc.pid)) - peakBefore;
  assert.ok(growth < ROGUE_FRAME_BYTES / 4, `the dispatcher's peak RSS grew by ${(growth / MiB).toFixed(1)} MiB for a refused ${ROGUE_FRAME_BYTES / MiB} MiB frame`);
  const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  assert.match(metrics, /^m2pool_dispatcher_peer_connections_dropped_total\{socket="workers"\} 1$/m);
  assert.match(metrics, /^m2pool_dispatcher_workers 1$/m, 'the real worker stayed registered');
  t.diagnostic(`refused a ${ROGUE_FRAME_BYTES / MiB} MiB frame over a ${limit / MiB} MiB limit: peak RSS +${(growth / MiB).toFixed(1)} MiB; ${answered} requests answered meanwhile, 0 failed`);
});

test('a direct worker refuses a frame over its bound from Mongrel2, reconnects and serves the next request', { timeout: 60_000 }, async (t) => {
  const m2 = await startFakeMongrel2();
  t.after(() => m2.close());
  const worker = spawnNode([CLI, 'worker', '--app', HELLO_APP, ...m2.workerArgs]);
  t.after(() => worker.stop());
  await m2.awaitReady(worker);
  const peakBefore = await peakRss(worker.pid);

  await m2.push.send(Buffer.alloc(ROGUE_FRAME_BYTES, 0x41));
  const refused = await worker.waitForLog((l) => l['event'] === 'link.refused', 20_000);
  // Mongrel2's limits: content_length (20480) is below a 1 MiB WebSocket message, plus the header allowance.
  assert.equal(refused['maxRequestBytes'], 1_048_576 + 8 * 4_096 + 65_536);
  // libzmq does not reconnect after a refusal by itself; the link does.
  await worker.waitForLog((l) => l['event'] === 'link.ready' && worker.logs.indexOf(l) > worker.logs.indexOf(refused), 20_000);

  await m2.push.send(mongrel2Frame({ connId: 7, path: '/echo/after' }));
  const [reply] = await m2.sub.receive();
  assert.match(String(reply), / 1:7, HTTP\/1\.1 200 OK\r\n[\s\S]*\/echo\/after$/);
  const growth = (await peakRss(worker.pid)) - peakBefore;
  assert.ok(growth < ROGUE_FRAME_BYTES / 4, `the worker's peak RSS grew by ${(growth / MiB).toFixed(1)} MiB for a refused ${ROGUE_FRAME_BYTES / MiB} MiB frame`);
});

test("the dispatcher's Mongrel2 socket refuses a frame over --max-request-bytes, counts it, reconnects and dispatches again", { timeout: 60_000 }, async (t) => {
  const m2 = await startFakeMongrel2();
  t.after(() => m2.close());
  const adminPort = await freePort();
  const endpoint = `ipc://${m2.dir}/dispatch.sock`;
  const dispatcher = spawnNode([CLI, 'dispatcher', ...m2.workerArgs, '--bind', endpoint, '--admin', `127.0.0.1:${adminPort}`]);
  t.after(() => dispatcher.stop());
  // The fake's SUB does not replay its subscription (see fake-mongrel2.ts): subscribe until the dispatcher is ready.
  await waitFor(async () => {
    await m2.sub.send(Buffer.from([1]));
    return dispatcher.logs.some((l) => l['msg'] === 'dispatcher.ready');
  }, { what: 'the dispatcher ready on the fake Mongrel2' });
  const worker = spawnNode([CLI, 'worker', '--app', HELLO_APP, '--dispatcher', endpoint]);
  t.after(() => worker.stop());
  await worker.waitForLog((l) => l['msg'] === 'worker.ready');
  const peakBefore = await peakRss(dispatcher.pid);

  await m2.push.send(Buffer.alloc(ROGUE_FRAME_BYTES, 0x41));
  const refused = await dispatcher.waitForLog((l) => l['event'] === 'dispatcher.mongrel2.refused', 20_000);
  assert.equal(refused['maxRequestBytes'], 1_048_576 + 8 * 4_096 + 65_536);
  // Reconnected by the link (libzmq would not): the next request is dispatched and answered.
  await waitFor(async () => {
    await m2.sub.send(Buffer.from([1]));
    return dispatcher.logs.filter((l) => l['event'] === 'dispatcher.mongrel2.ready').length >= 2;
  }, { timeoutMs: 20_000, what: 'the Mongrel2 link back' });
  await m2.push.send(mongrel2Frame({ connId: 9, path: '/echo/again' }));
  const [reply] = await m2.sub.receive();
  assert.match(String(reply), / 1:9, HTTP\/1\.1 200 OK\r\n[\s\S]*\/echo\/again$/);
  const growth = (await peakRss(dispatcher.pid)) - peakBefore;
  assert.ok(growth < ROGUE_FRAME_BYTES / 4, `the dispatcher's peak RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  assert.match(metrics, /^m2pool_dispatcher_peer_connections_dropped_total\{socket="mongrel2"\} 1$/m);
});
