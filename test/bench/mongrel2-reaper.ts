/**
 * What Mongrel2's idle reaper does to connections that stay open (issue 18, item 3; docs/mongrel2.md §5.5): with
 * `limits.min_ping` N, `limits.kill_limit` 0 and `limits.tick_timer` 1 (the rate limits 0), which of these are
 * closed within N + 20 s, and when: a keep-alive client idle after one answered request, a long poll the handler
 * answers after N + 7 s, a keep-alive client sending a request every second, a WebSocket with no traffic, and one
 * with a message every 2 s. Also prints Mongrel2's `status what=net` table for them (docs/mongrel2.md §6.6).
 *
 *   npm run build && node dist/test/bench/mongrel2-reaper.js [--min-ping 5]
 *
 * One worker (direct topology) of `test/fixtures/hold-app` behind a real Mongrel2 in a temp directory.
 * @module
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startMongrel2 } from '../../src/mongrel2/launcher';
import { Mongrel2Control } from '../../src/transport/mongrel2-control';
import { HttpConnection, buildRequest } from '../helpers/http-client';
import { freePorts } from '../helpers/ports';
import { CLI, REPO_ROOT, spawnNode } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';
import { WebSocketClient } from '../helpers/websocket-client';

const HOLD_APP = path.join(REPO_ROOT, 'dist/test/fixtures/hold-app.js');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'min-ping': { type: 'string', default: '5' } } });
  const minPing = Number(values['min-ping']);
  const dir = await mkdtemp(path.join(tmpdir(), 'm2reap-'));
  const [port = 0] = await freePorts(1);
  const conf = `h = Handler(send_spec='ipc://${dir}/run/req', send_ident='11111111-2222-3333-4444-555555555555', recv_spec='ipc://${dir}/run/rep', recv_ident='', protocol='tnetstring')
main = Server(uuid="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", name="main", chroot="", access_log="logs/access.log", error_log="logs/error.log", pid_file="run/mongrel2.pid", control_port="ipc://run/control", default_host="localhost", bind_addr="127.0.0.1", port=${port}, hosts=[Host(name="localhost", routes={'/': h})])
settings = {"zeromq.threads": 1, "server.daemonize": 0, "limits.min_ping": ${minPing}, "limits.min_write_rate": 0, "limits.min_read_rate": 0, "limits.kill_limit": 0, "limits.tick_timer": 1}
servers = [main]
`;
  await writeFile(path.join(dir, 'm.conf'), conf);
  const m2 = await startMongrel2({ configPath: path.join(dir, 'm.conf'), runDir: dir, stdio: 'ignore' });
  const worker = spawnNode([CLI, 'worker', '--app', HOLD_APP, '--send-spec', `ipc://${dir}/run/req`, '--recv-spec', `ipc://${dir}/run/rep`]);
  let t0 = Date.now();
  const at = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  const events: string[] = [];
  const note = (what: string): void => {
    events.push(`${at()}  ${what}`);
  };
  let running = true;
  try {
    await worker.waitForLog((l) => l['msg'] === 'worker.ready');
    t0 = Date.now(); // times count from the first request
    const idle = await HttpConnection.open(port);
    idle.send(buildRequest({ path: '/hold?ms=0' }));
    await idle.read();
    void idle.waitClosed((minPing + 20) * 1000).then((closed) => note(`keep-alive, idle after one request: ${closed ? 'closed' : 'open'}`));
    const poll = await HttpConnection.open(port);
    poll.send(buildRequest({ path: `/hold?ms=${(minPing + 7) * 1000}` }));
    void poll.read({ timeoutMs: (minPing + 20) * 1000 }).then((r) => note(`long poll: answered ${r.status}`), (e: unknown) => note(`long poll: ${e instanceof Error ? e.message : String(e)}`));
    const busy = await HttpConnection.open(port);
    void (async () => {
      while (running) {
        busy.send(buildRequest({ path: '/hold?ms=0' }));
        try {
          await busy.read({ timeoutMs: 5_000 });
        } catch (err) {
          note(`keep-alive, a request every second: ${err instanceof Error ? err.message : String(err)}`);
          return;
        }
        const next = Date.now() + 1_000;
        await waitFor(() => Date.now() >= next || !running, { intervalMs: 50 });
      }
    })();
    const wsIdle = await WebSocketClient.connect(port, '/ws');
    void wsIdle.waitClosed((minPing + 20) * 1000).then(() => note('WebSocket, no traffic: closed'), () => undefined);
    const wsTalk = await WebSocketClient.connect(port, '/ws');
    void (async () => {
      while (running && !wsTalk.closed) {
        wsTalk.send(0x1, 'hi');
        try {
          await wsTalk.nextFrame(3_000);
        } catch {
          note('WebSocket, a message every 2 s: closed');
          return;
        }
        const next = Date.now() + 2_000;
        await waitFor(() => Date.now() >= next || !running, { intervalMs: 50 });
      }
    })();
    const snapshot = Date.now() + 3_000;
    await waitFor(() => Date.now() >= snapshot, { intervalMs: 100 });
    const rows = await new Mongrel2Control(`ipc://${dir}/run/control`, 2_000).connections();
    process.stdout.write(`status what=net at ${at()}:\n${rows.map((r) => `  ${JSON.stringify(r)}`).join('\n')}\n`);
    const end = t0 + (minPing + 20) * 1000;
    await waitFor(() => Date.now() >= end, { intervalMs: 200, timeoutMs: (minPing + 25) * 1000 });
    running = false;
    note(`end: still open: ${[
      ['keep-alive idle', !idle.closed],
      ['keep-alive busy', !busy.closed],
      ['WebSocket idle', !wsIdle.closed],
      ['WebSocket talking', !wsTalk.closed],
    ].filter(([, open]) => open).map(([name]) => name).join(', ') || 'none'}`);
    for (const c of [idle, poll, busy]) c.close();
    wsIdle.destroy();
    wsTalk.destroy();
  } finally {
    running = false;
    await worker.stop();
    m2.child.kill('SIGINT');
    await new Promise((resolve) => m2.child.once('exit', resolve));
    await rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(`reaper with limits.min_ping ${minPing}, kill_limit 0, tick_timer 1:\n${events.map((e) => `  ${e}`).join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
