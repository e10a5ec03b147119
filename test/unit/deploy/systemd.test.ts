import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { notifyReady, sdNotify } from '../../../src/supervisor/control/sd-notify';
import { waitFor } from '../../helpers/wait-for';
import { REPO_ROOT, missingTool, readRepoFile, runTool } from './support';

const UNITS_DIR = path.join(REPO_ROOT, 'deploy', 'systemd');
const UNITS = readdirSync(UNITS_DIR).filter((f) => f.endsWith('.service')).sort();
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const SYSTEMD_NOTIFY = '/usr/bin/systemd-notify';

/** `Key=value` settings of a unit (continuation lines joined), by key; repeated keys keep every value. */
function settings(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const text = readRepoFile('deploy', 'systemd', unit).replace(/\s*\\\n\s*/g, ' ');
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m?.[1] !== undefined) out.set(m[1], [...(out.get(m[1]) ?? []), m[2] ?? '']);
  }
  return out;
}
const one = (s: Map<string, string[]>, key: string): string | undefined => s.get(key)?.at(-1);

describe('systemd units', () => {
  test('there are units for Mongrel2, the dispatcher and the pool', () => {
    for (const u of ['m2pool-mongrel2.service', 'm2pool-dispatcher.service', 'm2pool.service']) assert.ok(UNITS.includes(u), u);
  });

  test('systemd-analyze verify accepts every unit without a warning', { skip: missingTool(SYSTEMD_ANALYZE, 'install systemd to verify the units') }, () => {
    const r = runTool(SYSTEMD_ANALYZE, ['verify', ...UNITS.map((u) => path.join(UNITS_DIR, u))]);
    assert.equal(r.status, 0, r.output);
    assert.equal(r.output.trim(), '', r.output);
  });

  test('every unit is hardened and runs as the shared unprivileged user', () => {
    for (const u of UNITS) {
      const s = settings(u);
      for (const [key, value] of [['DynamicUser', 'yes'], ['User', 'm2pool'], ['ProtectSystem', 'strict'], ['NoNewPrivileges', 'yes'], ['ReadWritePaths', '/var/lib/m2pool'], ['ProtectHome', 'yes']]) {
        assert.equal(one(s, key ?? ''), value, `${u}: ${key}`);
      }
    }
  });

  test("every unit documents itself with the deploying guide the package ships, where the units install it", () => {
    for (const u of UNITS) assert.equal(one(settings(u), 'Documentation'), 'file:/opt/m2pool/docs/deploying.md', u);
    assert.ok(existsSync(path.join(REPO_ROOT, 'docs', 'deploying.md')));
  });

  test('long-running units stop with KillMode=mixed, the pool and dispatcher above the 35 s drain budget', () => {
    for (const u of UNITS.filter((n) => n !== 'm2pool-keygen.service')) assert.equal(one(settings(u), 'KillMode'), 'mixed', u);
    for (const u of ['m2pool.service', 'm2pool-dispatcher.service']) {
      const stop = Number(one(settings(u), 'TimeoutStopSec'));
      assert.ok(stop > 35, `${u}: TimeoutStopSec ${stop} must exceed shutdownTimeoutMs (35 s)`);
    }
  });

  test('the pool notifies readiness, reloads with SIGHUP and joins the dispatcher with CURVE keys', () => {
    const s = settings('m2pool.service');
    assert.equal(one(s, 'Type'), 'notify');
    assert.equal(one(s, 'NotifyAccess'), 'all');
    assert.equal(one(s, 'ExecReload'), '/bin/kill -HUP $MAINPID');
    const start = one(s, 'ExecStart') ?? '';
    assert.match(start, / start --app \S+ --dispatcher \$\{M2POOL_DISPATCHER_ENDPOINT\} --curve-server-key-file \S+dispatcher\.pub --curve-secret-file \S+pool\.key/);
    const dispatcher = one(settings('m2pool-dispatcher.service'), 'ExecStart') ?? '';
    assert.match(dispatcher, / dispatcher --send-spec ipc:\/\/\/var\/lib\/m2pool\/mongrel2\/run\/requests --recv-spec ipc:\/\/\/var\/lib\/m2pool\/mongrel2\/run\/replies --control-spec ipc:\/\/\/var\/lib\/m2pool\/mongrel2\/run\/control --bind \S+ --curve-secret-file \S+dispatcher\.key --curve-authorized-dir \S+ --admin \S+/);
    // The dispatcher reads the run directory Mongrel2 writes its ipc sockets to.
    assert.match(one(settings('m2pool-mongrel2.service'), 'ExecStart') ?? '', / mongrel2 --config \S+mongrel2\.conf --run-dir \/var\/lib\/m2pool\/mongrel2$/);
  });

  test('configuration errors (exit 2, 4) are not restarted', () => {
    for (const u of ['m2pool.service', 'm2pool-dispatcher.service']) assert.equal(one(settings(u), 'RestartPreventExitStatus'), '2 4', u);
  });
});

describe('sd-notify', () => {
  test('outside systemd (no NOTIFY_SOCKET) nothing is run', async () => {
    assert.equal(await notifyReady('up', { env: {}, binary: '/nonexistent/systemd-notify' }), false);
  });

  test('a failing systemd-notify resolves false, never throws', async () => {
    assert.equal(await sdNotify(['READY=1'], { env: { NOTIFY_SOCKET: '/nonexistent/socket' }, binary: '/nonexistent/systemd-notify' }), false);
  });

  test('the real systemd-notify delivers READY=1, the status and the main pid to NOTIFY_SOCKET', { skip: missingTool(SYSTEMD_NOTIFY, 'install systemd') || (existsSync('/usr/bin/python3') ? false : 'python3 (the test socket) not found') }, async (t: TestContext) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'm2pool-notify-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const socket = path.join(dir, 'notify');
    // A datagram socket standing in for systemd: prints each message; the barrier message's fd is closed on receipt, which answers BARRIER=1.
    const receiver = spawn('/usr/bin/python3', ['-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('bound', flush=True)
while True:
    msg = s.recv(65536).decode()
    print(repr(msg), flush=True)
    if 'BARRIER=1' in msg: break
`, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => receiver.kill('SIGKILL'));
    let out = '';
    receiver.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor(() => out.includes('bound'), { what: 'the test notify socket' });
    assert.equal(await notifyReady('4 workers ready', { env: { NOTIFY_SOCKET: socket }, binary: SYSTEMD_NOTIFY, pid: 4242 }), true);
    await waitFor(() => out.includes('READY=1'), { what: 'READY=1 on the socket' });
    assert.match(out, /READY=1/);
    assert.match(out, /STATUS=4 workers ready/);
    assert.match(out, /MAINPID=4242/);
  });
});
