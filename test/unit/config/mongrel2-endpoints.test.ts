/**
 * Default endpoints: without endpoint flags, `start`, `worker` and `dispatcher` take the Handler endpoints of the
 * shipped mongrel2.conf (or of `--mongrel2-config FILE`), `${RUN_DIR}` as `m2pool mongrel2` fills it by default.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfigSync } from '../../../src/config/load';
import { handlerEndpoints, readMongrel2Endpoints } from '../../../src/config/mongrel2-endpoints';
import { readDispatcherOptions } from '../../../src/dispatch/options';
import { readWorkerConfig } from '../../../src/worker/options';

const SHIPPED = {
  sendSpecs: [`ipc://${path.resolve('run/mongrel2')}/run/requests`],
  recvSpecs: [`ipc://${path.resolve('run/mongrel2')}/run/replies`],
};

test("the shipped mongrel2.conf's handler: ipc sockets in ./run/mongrel2, as `m2pool mongrel2` runs it", () => {
  // …and its control port (control_port="ipc://run/control", relative to where Mongrel2 runs), for the sweep
  // after a dispatcher crash.
  assert.deepEqual(readMongrel2Endpoints(), { ...SHIPPED, controlSpecs: [`ipc://${path.resolve('run/mongrel2')}/run/control`] });
});

test('a config: the first Handler, comments skipped, ${NAME:-default} expanded; no Handler is an error', () => {
  const text = `# h = Handler(send_spec='tcp://commented:1', recv_spec='tcp://commented:2')
a = Handler(send_spec="tcp://127.0.0.1:\${M2P_TEST_PORT:-7001}", send_ident='x',
            recv_spec='tcp://127.0.0.1:7002', recv_ident='')
b = Handler(send_spec='tcp://127.0.0.1:8001', recv_spec='tcp://127.0.0.1:8002')`;
  assert.deepEqual(handlerEndpoints(text, '/r', {}), { sendSpecs: ['tcp://127.0.0.1:7001'], recvSpecs: ['tcp://127.0.0.1:7002'], controlSpecs: [] });
  const withServer = `${text}\nmain = Server(uuid="u", control_port="ipc://run/control", port=1)\nother = Server(control_port='tcp://127.0.0.1:9')`;
  assert.deepEqual(handlerEndpoints(withServer, '/r', {}).controlSpecs, ['ipc:///r/run/control'], 'the first control_port, relative to the run directory');
  assert.throws(() => handlerEndpoints('servers = []', '/r', {}), /has no Handler/);
});

test('start without endpoints uses them; --mongrel2-config names another; explicit endpoints win', () => {
  assert.deepEqual(pick(loadConfigSync({ flags: { app: 'a' } })), SHIPPED);
  const dir = mkdtempSync(path.join(tmpdir(), 'm2p-conf-'));
  try {
    const conf = path.join(dir, 'm2.conf');
    writeFileSync(conf, "h = Handler(send_spec='tcp://127.0.0.1:7101', recv_spec='tcp://127.0.0.1:7102')\n");
    assert.deepEqual(pick(loadConfigSync({ flags: { app: 'a', mongrel2Config: conf } })), { sendSpecs: ['tcp://127.0.0.1:7101'], recvSpecs: ['tcp://127.0.0.1:7102'] });
    assert.deepEqual(pick(loadConfigSync({ env: { M2POOL_MONGREL2_CONFIG: conf }, flags: { app: 'a' } })).sendSpecs, ['tcp://127.0.0.1:7101']);
    const explicit = loadConfigSync({ flags: { app: 'a', mongrel2Config: conf, sendSpecs: ['tcp://127.0.0.1:1'], recvSpecs: ['tcp://127.0.0.1:2'] } });
    assert.deepEqual(pick(explicit), { sendSpecs: ['tcp://127.0.0.1:1'], recvSpecs: ['tcp://127.0.0.1:2'] });
    assert.throws(() => loadConfigSync({ flags: { app: 'a', mongrel2Config: path.join(dir, 'missing.conf') } }), /mongrel2Config: mongrel2 config .*missing\.conf: cannot read it: ENOENT.* \(from --mongrel2-config\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('worker and dispatcher without endpoint flags use them too', () => {
  assert.deepEqual(pick(readWorkerConfig({ app: 'x' })), SHIPPED);
  assert.deepEqual(pick(readDispatcherOptions({})), SHIPPED);
  // The pool (for the dispatcher it forks) and the dispatcher take the shipped control port too, unless given.
  const control = [`ipc://${path.resolve('run/mongrel2')}/run/control`];
  assert.deepEqual(loadConfigSync({ flags: { app: 'a' } }).controlSpecs, control);
  assert.deepEqual(readDispatcherOptions({}).controlSpecs, control);
  assert.deepEqual(readDispatcherOptions({ 'control-spec': ['ipc:///x/control'] }).controlSpecs, ['ipc:///x/control']);
  assert.deepEqual(readDispatcherOptions({ 'send-spec': ['ipc:///s'], 'recv-spec': ['ipc:///r'] }).controlSpecs, [], 'explicit endpoints: no control port unless given');
});

function pick(c: { sendSpecs: readonly string[]; recvSpecs: readonly string[] }): { sendSpecs: readonly string[]; recvSpecs: readonly string[] } {
  return { sendSpecs: c.sendSpecs, recvSpecs: c.recvSpecs };
}
