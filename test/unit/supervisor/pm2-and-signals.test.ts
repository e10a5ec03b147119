import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { announcePm2Ready, registerPm2Actions, underPm2, type Pm2Target } from '../../../src/supervisor/control/pm2-actions';
import { SIGNAL_INTENTS, installSignalHandlers, type PoolIntent } from '../../../src/supervisor/arbiter/signals';
import type { PoolSnapshot } from '../../../src/supervisor/control/pool-snapshot';
import type { ScaleTarget } from '../../../src/supervisor/arbiter/scale-request';
import { FakePm2Process } from '../../helpers/fake-pm2-process';


function target() {
  const log: Array<[string, unknown]> = [];
  const t: Pm2Target = {
    snapshot: () => ({ desired: 2, ready: 2 }) as unknown as PoolSnapshot, // only the fields this test reads
    scale: (s: ScaleTarget, source: string) => {
      log.push(['scale', s]);
      assert.equal(source, 'pm2');
      return { ok: true, previous: 2, desired: typeof s === 'number' ? s : 2 + s.delta };
    },
    reload: () => {
      log.push(['reload', null]);
      return { ok: true, generation: 7 };
    },
    recordIntent: (intent: PoolIntent, source: string) => log.push(['intent', `${intent}/${source}`]),
  };
  return { t, log };
}

test('pm2 detection needs both pm_id and an IPC channel', () => {
  assert.equal(underPm2(new FakePm2Process({ pm_id: '3' })), true);
  assert.equal(underPm2(new FakePm2Process({})), false);
  assert.equal(underPm2(new FakePm2Process({ pm_id: '3' }, false)), false);
});

test('outside pm2 nothing is registered or sent', () => {
  const proc = new FakePm2Process({});
  const { t } = target();
  registerPm2Actions(t, proc)();
  assert.equal(announcePm2Ready(proc), false);
  assert.deepEqual(proc.sent, []);
  assert.equal(proc.listenerCount('message'), 0);
});

test('registers scale, reload and status as axm actions and answers triggers with axm:reply', () => {
  const proc = new FakePm2Process({ pm_id: '0' });
  const { t, log } = target();
  const remove = registerPm2Actions(t, proc);
  assert.deepEqual(proc.sent, [
    { type: 'axm:action', data: { action_name: 'scale', action_type: 'custom', opts: null, arity: 2 } },
    { type: 'axm:action', data: { action_name: 'reload', action_type: 'custom', opts: null, arity: 1 } },
    { type: 'axm:action', data: { action_name: 'status', action_type: 'custom', opts: null, arity: 1 } },
  ]);
  proc.sent.length = 0;
  // `pm2 trigger app scale 4` → the object form; `pm2 trigger app reload` → the bare name.
  proc.emit('message', { msg: 'scale', opts: '4', name: 'app' });
  proc.emit('message', { msg: 'scale', opts: '-1', id: 0 });
  proc.emit('message', 'reload');
  proc.emit('message', 'status');
  proc.emit('message', { msg: 'scale' });
  proc.emit('message', { msg: 'scale', opts: 'lots' });
  proc.emit('message', { type: 'm2pool:heartbeat' });
  assert.deepEqual(log, [['scale', 4], ['scale', { delta: -1 }], ['reload', null]]);
  assert.deepEqual(proc.sent, [
    { type: 'axm:reply', data: { return: { success: true, previous: 2, desired: 4 }, action_name: 'scale' } },
    { type: 'axm:reply', data: { return: { success: true, previous: 2, desired: 1 }, action_name: 'scale' } },
    { type: 'axm:reply', data: { return: { success: true, generation: 7, changed: [] }, action_name: 'reload' } },
    { type: 'axm:reply', data: { return: { success: true, desired: 2, ready: 2 }, action_name: 'status' } },
    { type: 'axm:reply', data: { return: { success: false, error: 'usage: pm2 trigger <app> scale N|+N|-N' }, action_name: 'scale' } },
    { type: 'axm:reply', data: { return: { success: false, error: 'expected N, +N or -N (e.g. 4, +1, -2), got "lots"' }, action_name: 'scale' } },
  ]);
  remove();
  assert.equal(proc.listenerCount('message'), 0);
});

test('pm2 trigger reload waits for the checked reload and replies with its refusal', async () => {
  const proc = new FakePm2Process({ pm_id: '0' });
  const { t } = target();
  const error = 'reload refused, the running workers keep serving: --app "./app.js" does not load: broken';
  let refuse: () => void = () => undefined;
  registerPm2Actions({ ...t, reload: () => new Promise((resolve) => (refuse = () => resolve({ ok: false, status: 422, error }))) }, proc);
  proc.sent.length = 0;
  proc.emit('message', 'reload');
  assert.deepEqual(proc.sent, [], 'no reply before the app check answered');
  refuse();
  await new Promise(setImmediate);
  assert.deepEqual(proc.sent, [{ type: 'axm:reply', data: { return: { success: false, error }, action_name: 'reload' } }]);
});

test("pm2's shutdown message (shutdown_with_message) becomes a graceful stop intent; ready is announced", () => {
  const proc = new FakePm2Process({ pm_id: '0' });
  const { t, log } = target();
  registerPm2Actions(t, proc);
  proc.emit('message', 'shutdown');
  assert.deepEqual(log, [['intent', 'stop/pm2']]);
  assert.equal(announcePm2Ready(proc), true);
  assert.equal(proc.sent.at(-1), 'ready');
});

test('signal table: TERM/INT stop, QUIT fast, HUP reload, TTIN/TTOU scale; handlers only record intent', () => {
  assert.deepEqual(SIGNAL_INTENTS, { SIGTERM: 'stop', SIGINT: 'stop', SIGQUIT: 'fast-stop', SIGHUP: 'reload', SIGTTIN: 'scale-up', SIGTTOU: 'scale-down' });
  const source = new EventEmitter();
  const got: string[] = [];
  const remove = installSignalHandlers({ recordIntent: (i, s) => got.push(`${s}:${i}`) }, source);
  for (const sig of ['SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGTERM', 'SIGINT', 'SIGQUIT']) source.emit(sig);
  assert.deepEqual(got, ['SIGHUP:reload', 'SIGTTIN:scale-up', 'SIGTTOU:scale-down', 'SIGTERM:stop', 'SIGINT:stop', 'SIGQUIT:fast-stop']);
  remove();
  assert.equal(source.eventNames().length, 0);
});
