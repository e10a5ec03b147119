/**
 * A real Redis (Debian redis-server) for a test: a free port on 127.0.0.1, its files in a fresh temp dir, no
 * persistence, started in the foreground in its own process group and stopped afterwards (SIGTERM, then SIGKILL
 * after a deadline), like the test Mongrel2.
 */
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports';
import { spawnCommand, type TestProcess } from './processes';
import { waitFor } from './wait-for';

/** A running test Redis. */
export interface TestRedis {
  readonly port: number;
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  readonly dir: string;
  readonly proc: TestProcess;
  /** Send one inline command and read the first line of the reply (e.g. `PING` → `+PONG`). */
  command(line: string): Promise<string>;
  /** Stop redis-server and remove its directory. Idempotent. */
  stop(): Promise<void>;
}

/** One inline Redis command over a fresh connection; resolves with the first reply line. */
function inlineCommand(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error(`redis ${line}: no reply within 5 s`)));
    socket.on('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (d: Buffer) => {
      data += d.toString('utf8');
      const end = data.indexOf('\r\n');
      if (end !== -1) {
        socket.destroy();
        resolve(data.slice(0, end));
      }
    });
    socket.on('error', reject);
  });
}

/** Start redis-server for one test; register `stop` with `t.after`/`after`. */
export async function startTestRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-redis-'));
  const port = await freePort();
  const proc = spawnCommand('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', ''], { cwd: dir });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await proc.stop(5_000);
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    await waitFor(async () => (await inlineCommand(port, 'PING').catch(() => '')) === '+PONG', { timeoutMs: 15_000, what: `redis-server answering PING on ${port}` });
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}\nstderr: ${proc.stderr()}`);
  }
  return { port, url: `redis://127.0.0.1:${port}`, dir, proc, command: (line) => inlineCommand(port, line), stop };
}
