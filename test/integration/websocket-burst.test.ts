/**
 * Issue #18 item 1: a real `ws` client sends 50 WebSocket messages of mixed sizes (up to the route's
 * `maxMessageBytes`) back to back on one connection, interleaved with pings, without waiting for the echoes —
 * through a real Mongrel2 to examples/hello's `/ws/echo`, with 1 and 2 workers, in both topologies. Every message
 * must be answered, and in the dispatch topology in the order sent (the dispatcher keeps a connection's frames
 * at one worker while any is in flight, and the worker answers them in order). A client that waits for each echo
 * never saw the loss this guards against: the worker reported a frame done before its coalesced reply had left,
 * so the dispatcher dropped that reply as late.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import WebSocket from 'ws';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../src/app/websocket/websocket';
import { startTestDispatcher } from '../helpers/dispatcher';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { freePort } from '../helpers/ports';
import { HELLO_APP, startWorker, type TestProcess } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

const MESSAGES = 50;
/** Sizes cycled through: tiny, the 7-bit/16-bit/64-bit length boundaries of RFC 6455 §5.2, and the route's limit. */
const SIZES = [1, 100, 125, 126, 1_000, 40_000, 65_535, 65_536, 200_000, DEFAULT_MAX_MESSAGE_BYTES];
/** A ping after every this many messages. */
const PING_EVERY = 3;

interface Outcome {
  readonly echoes: Buffer[];
  readonly pongs: Buffer[];
  readonly sent: Buffer[];
  readonly pings: Buffer[];
}

/** Open `/ws/echo`, send everything at once, wait until every echo and pong came back (or fail naming the counts). */
async function burst(t: TestContext, m2: TestMongrel2): Promise<Outcome> {
  const ws = new WebSocket(`ws://127.0.0.1:${m2.port}/ws/echo`, { maxPayload: 2 * DEFAULT_MAX_MESSAGE_BYTES });
  t.after(() => ws.terminate());
  const echoes: Buffer[] = [];
  const pongs: Buffer[] = [];
  let closed: string | undefined;
  ws.on('message', (data, isBinary) => echoes.push(Buffer.concat([Buffer.from(isBinary ? 'b:' : 't:'), Buffer.from(data as Buffer)])));
  ws.on('pong', (data) => pongs.push(data));
  ws.on('close', (code, reason) => (closed = `closed ${code} ${reason.toString()}`));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const sent: Buffer[] = [];
  const pings: Buffer[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const size = SIZES[i % SIZES.length] ?? 1;
    if (i % 2 === 0) {
      // Text: a recognisable prefix, padded to the size.
      const text = `#${i}:`.padEnd(size, 'abcdefghijklmnopqrstuvwxyz');
      ws.send(text, { binary: false });
      sent.push(Buffer.from(`t:${text}`));
    } else {
      const data = randomBytes(size);
      ws.send(data, { binary: true });
      sent.push(Buffer.concat([Buffer.from('b:'), data]));
    }
    if (i % PING_EVERY === 0) {
      const payload = Buffer.from(`ping ${i}`);
      ws.ping(payload);
      pings.push(payload);
    }
  }
  const counts = (): string => `${echoes.length}/${MESSAGES} echoes, ${pongs.length}/${pings.length} pongs${closed === undefined ? '' : `, ${closed}`}`;
  await waitFor(() => closed !== undefined || (echoes.length === MESSAGES && pongs.length === pings.length), { timeoutMs: 30_000, what: 'every echo and pong' }).catch(
    (err: unknown) => assert.fail(`${String(err)}: ${counts()}`),
  );
  assert.equal(closed, undefined, counts());
  return { echoes, pongs, sent, pings };
}

/** Sort key of a tagged message, so two lists can be compared as multisets. */
function sorted(list: readonly Buffer[]): string[] {
  return list.map((b) => b.toString('base64')).sort();
}

for (const topology of ['dispatch', 'direct'] as const) {
  describe(`websocket burst, ${topology} topology`, { timeout: 120_000 }, () => {
    for (const workers of [1, 2]) {
      test(`${MESSAGES} back-to-back messages of mixed sizes with pings, ${workers} worker(s): all answered${topology === 'dispatch' ? ', in order' : ''}`, { timeout: 60_000 }, async (t) => {
        const m2 = await startTestMongrel2();
        t.after(() => m2.stop());
        const procs: TestProcess[] = [];
        t.after(() => Promise.all(procs.map((p) => p.stop())));
        const adminPort = await freePort();
        if (topology === 'dispatch') {
          const dispatcher = await startTestDispatcher(m2, ['--admin', `127.0.0.1:${adminPort}`]);
          t.after(() => dispatcher.proc.stop());
          for (let i = 0; i < workers; i++) procs.push(await dispatcher.worker(HELLO_APP));
        } else {
          for (let i = 0; i < workers; i++) procs.push(await startWorker(HELLO_APP, m2.workerArgs()));
        }

        // Two rounds on two connections: the second starts while the first connection's state is fresh.
        for (let round = 0; round < 2; round++) {
          const { echoes, pongs, sent, pings } = await burst(t, m2);
          if (topology === 'dispatch') {
            assert.deepEqual(echoes.map((b) => b.length), sent.map((b) => b.length), 'echo sizes in the order sent');
            assert.ok(echoes.every((b, i) => b.equals(sent[i] as Buffer)), 'every echo equals its message, in order');
            assert.deepEqual(pongs, pings, 'pongs in the order of the pings');
          } else {
            // Mongrel2 round-robins frames over the workers: each is answered, not necessarily in order.
            assert.deepEqual(sorted(echoes), sorted(sent));
            assert.deepEqual(sorted(pongs), sorted(pings));
          }
        }
        if (topology === 'dispatch') {
          // Every reply frame the workers sent reached Mongrel2: none dropped as late or misaddressed.
          const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
          assert.match(metrics, /^m2pool_dispatcher_late_replies_total 0$/m);
          assert.doesNotMatch(metrics, /^m2pool_dispatcher_misaddressed_replies_total\{/m);
        }
      });
    }
  });
}
