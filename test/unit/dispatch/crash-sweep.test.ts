/**
 * The sweep after a predecessor's crash, against a stand-in for Mongrel2's control port (a real ZeroMQ REP socket
 * answering `status what=net` with the table Mongrel2 sends, and `kill`): which connections it answers, and how.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { Reply } from 'zeromq';
import { CrashSweep } from '../../../src/dispatch/crash-sweep';
import { DispatcherStats } from '../../../src/dispatch/stats';
import { decodeAll, encode, type TnetInput } from '../../../src/protocol/tnetstring';
import { LogSink } from '../../helpers/supervisor-log-sink';
import { waitFor } from '../../helpers/wait-for';

const SENDER = '6a3f9c3e-5a53-4d4b-9d1e-3c2b9a7d1f00';
const HEADERS = ['id', 'fd', 'type', 'last_ping', 'last_read', 'last_write', 'bytes_read', 'bytes_written'];

/** A REP socket answering like Mongrel2's control port with `rows`; records the commands it got. */
async function fakeControlPort(t: { after(fn: () => unknown): void }, rows: number[][]): Promise<{ endpoint: string; commands: string[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-ctl-'));
  const endpoint = `ipc://${path.join(dir, 'control')}`;
  const rep = new Reply({ linger: 0 });
  await rep.bind(endpoint);
  const commands: string[] = [];
  void (async () => {
    for await (const [msg] of rep) {
      const [command, args] = decodeAll(msg as Buffer) as [Buffer, Record<string, unknown>];
      commands.push(`${command.toString()} ${JSON.stringify(args, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString() : v))}`);
      const answer: TnetInput = command.toString() === 'status' ? { headers: HEADERS, rows } : { headers: ['status'], rows: [['OK']] };
      await rep.send(encode(answer));
    }
  })();
  t.after(async () => {
    rep.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { endpoint, commands };
}

test('answers the unseen HTTP connections of the dead dispatcher: 503 if surely waiting, else close; spares the rest', async (t) => {
  // id, fd, type, last_ping, last_read, last_write, bytes_read, bytes_written (times: seconds ago)
  const { endpoint, commands } = await fakeControlPort(t, [
    [1, 10, 1, 0, 0, 0, 40, 120], // seen by the new dispatcher (a request read from it)
    [2, 11, 1, 0, 0, 0, 40, 0], // never written to: surely waits
    [3, 12, 1, 0, 0, 10, 80, 120], // read after its last write: surely waits
    [4, 13, 1, 0, 0, 0, 80, 120], // read and write in one tick: may wait
    [5, 14, 1, 0, 10, 0, 80, 120], // written after its last read: idle keep-alive
    [6, 15, 3, 0, 0, 0, 150, 130], // WebSocket
    [-1, 16, 0, 0, 0, 0, 0, 0], // nothing read yet
  ]);
  const sink = new LogSink();
  const closed: string[] = [];
  const stats = new DispatcherStats();
  const sweep = new CrashSweep({
    controlSpecs: [endpoint],
    graceMs: 10,
    timeoutMs: 2_000,
    logger: pino({ level: 'info' }, sink),
    stats,
    accepting: () => true,
    close: (server, connection, action) => closed.push(`${server} ${connection} ${action}`),
  });
  t.after(() => sweep.close());
  sweep.noteRequest(0, Buffer.from(`${SENDER} 1 / 3:xyz,0:,`));
  sweep.predecessorDied('dead-instance');
  const passes = await waitFor(() => (sink.events('dispatcher.crash.swept').length === 2 ? sink.events('dispatcher.crash.swept') : undefined), { what: 'two sweep passes' });
  assert.deepEqual(closed.slice(0, 3), [`0 ${SENDER} 2 error`, `0 ${SENDER} 3 error`, `0 ${SENDER} 4 close`]);
  assert.deepEqual(
    [passes[0]?.['seen'], passes[0]?.['idle'], passes[0]?.['sockets'], passes[0]?.['unidentified'], passes[0]?.['answered503'], passes[0]?.['closed'], passes[0]?.['killed']],
    [1, 1, 1, 1, 2, 1, 0],
  );
  assert.deepEqual(commands.filter((c) => c.startsWith('kill')), [], 'it knew the sender: no kill through the control port');
  assert.equal(stats.recovery.get('swept'), 6, 'three per pass (this stand-in keeps listing them)');
});

test('without a known sender it kills through the control port; without a predecessor report it does nothing', async (t) => {
  const { endpoint, commands } = await fakeControlPort(t, [[2, 11, 1, 0, 0, 0, 40, 0]]);
  const sink = new LogSink();
  const make = (): CrashSweep => new CrashSweep({ controlSpecs: [endpoint], graceMs: 10, timeoutMs: 2_000, logger: pino({ level: 'info' }, sink), stats: new DispatcherStats(), accepting: () => true, close: () => assert.fail('no sender known') });
  const idle = make();
  t.after(() => idle.close());
  const sweep = make();
  t.after(() => sweep.close());
  sweep.predecessorDied('dead-instance');
  await waitFor(() => sink.events('dispatcher.crash.swept').length === 2, { what: 'two sweep passes' });
  assert.deepEqual(commands.filter((c) => c.startsWith('kill')), ['kill {"id":2}', 'kill {"id":2}']);
  assert.equal(commands.length, 4, 'status and kill per pass, from the one sweep that heard of a crash');
});
