/**
 * Runtime log level (issue #4): `Supervisor.setLogLevel`, `PUT`/`GET /log-level` on the admin API, the pm2
 * `loglevel` action and `m2pool log-level`, all driven against a supervisor with fake workers and a fake clock.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { request } from 'node:http';
import { logLevelCommand } from '../../../src/cli/admin-commands';
import { parseLogLevelBody, startAdminServer } from '../../../src/supervisor/control/admin-server';
import { registerPm2Actions } from '../../../src/supervisor/control/pm2-actions';
import { testConfig } from '../../helpers/supervisor-config';
import type { FakeChild } from '../../helpers/supervisor-fake-child';
import { FakeClock } from '../../helpers/supervisor-fake-clock';
import { captureCli } from '../../helpers/cli-capture';
import { startFakeSupervisor } from '../../helpers/supervisor-fake-pool';

function setup(t: TestContext, overrides: Record<string, unknown> = {}) {
  return startFakeSupervisor(t, testConfig({ workers: 2, ...overrides }));
}

const levelMessages = (c: FakeChild): string[] => c.sent.flatMap((m) => (m.type === 'm2pool:log-level' ? [m.level] : []));
/** The level a worker was started at: its handed-over configuration's. */
const levelArg = (c: FakeChild): string | undefined => c.request.config?.logLevel;
const slotOf = (c: FakeChild): number => Number(c.request.env['M2POOL_WORKER_SLOT']);

function readyAll(children: readonly FakeChild[], clock: FakeClock): void {
  for (const c of children) if (!c.exited && !c.isReady) c.ready();
  clock.advance(0);
}

test('a pool-wide level reaches the supervisor logger, every serving worker, and workers spawned later', (t) => {
  const { clock, spawner, sink, sup } = setup(t);
  readyAll(spawner.children, clock);
  assert.deepEqual(spawner.children.map(levelArg), ['info', 'info']);
  assert.deepEqual(sup.logLevels(), { supervisor: 'info', workers: 'info', slots: {} });

  const r = sup.setLogLevel('debug', undefined, 'test');
  assert.deepEqual(r, { ok: true, level: 'debug', slot: null, previous: 'info', workers: 2 });
  assert.deepEqual(spawner.children.map(levelMessages), [['debug'], ['debug']]);
  assert.deepEqual(sup.logLevels(), { supervisor: 'debug', workers: 'debug', slots: {} });
  assert.deepEqual(sink.events('pool.log-level').map((l) => [l['level'], l['previous'], l['slot'], l['source']]), [['debug', 'info', null, 'test']]);

  // A worker that crashes is replaced by one started at the new level; it needs no message.
  spawner.children[0]?.exit(1);
  clock.advance(1_000);
  const replacement = spawner.children[2];
  assert.ok(replacement !== undefined, 'slot 0 respawned');
  assert.equal(levelArg(replacement), 'debug');
  assert.equal(replacement.request.args.includes('--log-level'), false, 'the level is set in the configuration, not added as a flag');
  replacement.ready();
  clock.advance(0);
  assert.deepEqual(levelMessages(replacement), []);
});

test('a worker booting during the change gets the level as soon as it is ready', (t) => {
  const { clock, spawner, sup } = setup(t);
  const [serving, booting] = spawner.children as [FakeChild, FakeChild];
  serving.ready();
  clock.advance(0);
  assert.equal(sup.setLogLevel('warn').ok, true);
  assert.deepEqual(levelMessages(serving), ['warn']);
  assert.deepEqual(levelMessages(booting), [], 'its IPC listener is not up before ready');
  booting.ready();
  clock.advance(0);
  assert.deepEqual(levelMessages(booting), ['warn']);
});

test('a slot level changes only that slot, survives its restarts, and is cleared by a pool-wide level', (t) => {
  const { clock, spawner, sup } = setup(t);
  readyAll(spawner.children, clock);
  const r = sup.setLogLevel('trace', 1);
  assert.deepEqual(r, { ok: true, level: 'trace', slot: 1, previous: 'info', workers: 1 });
  assert.deepEqual(spawner.children.map(levelMessages), [[], ['trace']]);
  assert.deepEqual(sup.logLevels(), { supervisor: 'info', workers: 'info', slots: { '1': 'trace' } });

  spawner.children[1]?.exit(1);
  clock.advance(1_000);
  const again = spawner.children.find((c) => slotOf(c) === 1 && !c.exited);
  assert.equal(again === undefined ? undefined : levelArg(again), 'trace');

  assert.equal(sup.setLogLevel('error').ok, true);
  assert.deepEqual(sup.logLevels(), { supervisor: 'error', workers: 'error', slots: {} });
});

test('a slot level is forgotten when the slot is scaled away', (t) => {
  const { clock, spawner, sup } = setup(t);
  readyAll(spawner.children, clock);
  assert.equal(sup.setLogLevel('debug', 1).ok, true);
  sup.scale(1);
  clock.advance(0);
  spawner.children[1]?.exit(0);
  clock.advance(10);
  assert.deepEqual(sup.logLevels().slots, {});
  sup.scale(2);
  clock.advance(0);
  const fresh = spawner.children.at(-1);
  assert.equal(fresh === undefined ? undefined : [slotOf(fresh), levelArg(fresh)].join(), '1,info');
});

test('bad levels and unknown slots are refused without changing anything', (t) => {
  const { clock, spawner, sup } = setup(t);
  readyAll(spawner.children, clock);
  assert.deepEqual(sup.setLogLevel('verbose'), { ok: false, status: 400, error: 'unknown log level "verbose": use one of fatal|error|warn|info|debug|trace|silent' });
  assert.deepEqual(sup.setLogLevel('debug', 7), { ok: false, status: 400, error: 'no slot 7 in the pool (slots: 0, 1)' });
  assert.deepEqual(sup.setLogLevel('debug', 0.5), { ok: false, status: 400, error: 'no slot 0.5 in the pool (slots: 0, 1)' });
  assert.deepEqual(spawner.children.map(levelMessages), [[], []]);
  assert.deepEqual(sup.logLevels(), { supervisor: 'info', workers: 'info', slots: {} });
});

test('the change is logged even when the new level hides info lines', (t) => {
  const { sink, sup } = setup(t);
  sup.setLogLevel('error');
  sup.setLogLevel('debug');
  assert.deepEqual(sink.events('pool.log-level').map((l) => `${String(l['previous'])}->${String(l['level'])}`), ['info->error', 'error->debug']);
});

test('parseLogLevelBody accepts {level} and {level, slot} only', () => {
  assert.deepEqual(parseLogLevelBody({ level: 'debug' }), { ok: true, level: 'debug' });
  assert.deepEqual(parseLogLevelBody({ level: 'warn', slot: 2 }), { ok: true, level: 'warn', slot: 2 });
  assert.deepEqual(parseLogLevelBody({ level: 'warn', slot: null }), { ok: true, level: 'warn' });
  for (const bad of [null, [], 'debug', {}, { level: 3 }, { level: 'debug', slot: -1 }, { level: 'debug', slot: '1' }, { level: 'debug', slot: 1.5 }, { level: 'debug', pid: 1 }]) {
    assert.equal(parseLogLevelBody(bad).ok, false, JSON.stringify(bad));
  }
});

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function call(port: number, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function withAdmin(t: TestContext, token: string) {
  const pool = setup(t);
  readyAll(pool.spawner.children, pool.clock);
  const admin = await startAdminServer({ target: pool.sup, listen: '127.0.0.1:0', token });
  t.after(() => admin.close());
  return { ...pool, port: admin.address.port };
}

const JSON_TYPE = { 'content-type': 'application/json' };

test('PUT and GET /log-level need the admin token when one is set', async (t) => {
  const { port, spawner } = await withAdmin(t, 's3cret');
  const anonymous = await call(port, 'PUT', '/log-level', '{"level":"debug"}', JSON_TYPE);
  assert.equal(anonymous.status, 401);
  const wrong = await call(port, 'PUT', '/log-level', '{"level":"debug"}', { ...JSON_TYPE, authorization: 'Bearer nope' });
  assert.equal(wrong.status, 401);
  assert.deepEqual(spawner.children.map(levelMessages), [[], []]);
  const ok = await call(port, 'PUT', '/log-level', '{"level":"debug"}', { ...JSON_TYPE, authorization: 'Bearer s3cret' });
  assert.deepEqual([ok.status, ok.body], [200, { level: 'debug', previous: 'info', slot: null, workers: 2 }]);
  assert.deepEqual(spawner.children.map(levelMessages), [['debug'], ['debug']]);
  assert.equal((await call(port, 'GET', '/log-level')).status, 401);
  const levels = await call(port, 'GET', '/log-level', undefined, { authorization: 'Bearer s3cret' });
  assert.deepEqual([levels.status, levels.body], [200, { supervisor: 'debug', workers: 'debug', slots: {} }]);
});

test('PUT /log-level: bad level or body is 400, wrong type 415, other methods 405', async (t) => {
  const { port, spawner } = await withAdmin(t, '');
  const cases: Array<[string, Record<string, string>, number, RegExp]> = [
    ['{"level":"loud"}', JSON_TYPE, 400, /unknown log level "loud"/],
    ['{"level":"debug","slot":9}', JSON_TYPE, 400, /no slot 9/],
    ['{"level":"debug","slot":"0"}', JSON_TYPE, 400, /"slot" must be a slot number/],
    ['{"lvl":"debug"}', JSON_TYPE, 400, /unknown field "lvl"/],
    ['{"level":', JSON_TYPE, 400, /malformed JSON/],
    ['{"level":"debug"}', { 'content-type': 'text/plain' }, 415, /application\/json/],
  ];
  for (const [body, headers, status, message] of cases) {
    const r = await call(port, 'PUT', '/log-level', body, headers);
    assert.equal(r.status, status, body);
    assert.match(String(r.body['error']), message);
  }
  assert.deepEqual(spawner.children.map(levelMessages), [[], []]);
  assert.equal((await call(port, 'POST', '/log-level', '{"level":"debug"}', JSON_TYPE)).status, 405);
  const slot = await call(port, 'PUT', '/log-level', '{"level":"warn","slot":0}', JSON_TYPE);
  assert.deepEqual([slot.status, slot.body], [200, { level: 'warn', previous: 'info', slot: 0, workers: 1 }]);
  assert.deepEqual(spawner.children.map(levelMessages), [['warn'], []]);
});

test('m2pool log-level shows and sets levels through the admin API', async (t) => {
  const { port, spawner } = await withAdmin(t, 'tok');
  const admin = ['--admin', `127.0.0.1:${port}`, '--token', 'tok'];
  const set = captureCli();
  assert.equal(await logLevelCommand(['debug', ...admin], set.deps), 0, set.err());
  assert.equal(set.out(), 'log level of the supervisor and all workers: info -> debug (2 live workers)\n');
  const slot = captureCli();
  assert.equal(await logLevelCommand([...admin, 'warn', '--slot', '1'], slot.deps), 0, slot.err());
  assert.equal(slot.out(), 'log level of slot 1: debug -> warn (1 live worker)\n');
  assert.deepEqual(spawner.children.map(levelMessages), [['debug'], ['debug', 'warn']]);
  const show = captureCli();
  assert.equal(await logLevelCommand(admin, show.deps), 0, show.err());
  assert.equal(show.out(), 'supervisor: debug\nworkers: debug\nslot 1: warn\n');

  const noToken = captureCli();
  assert.equal(await logLevelCommand(['info', '--admin', `127.0.0.1:${port}`], noToken.deps), 1);
  assert.match(noToken.err(), /^m2pool log-level: this endpoint needs "Authorization: Bearer <adminToken>"/);
  const badLevel = captureCli();
  assert.equal(await logLevelCommand(['chatty', ...admin], badLevel.deps), 2);
  assert.match(badLevel.err(), /unknown log level "chatty"/);
  const badSlot = captureCli();
  assert.equal(await logLevelCommand(['info', '--slot', 'x', ...admin], badSlot.deps), 2);
  const noSlot = captureCli();
  assert.equal(await logLevelCommand(['info', '--slot', '5', ...admin], noSlot.deps), 1);
  assert.match(noSlot.err(), /no slot 5 in the pool/);
});

class FakePm2 extends EventEmitter {
  readonly env = { pm_id: '0' };
  readonly sent: unknown[] = [];
  send = (m: unknown): boolean => {
    this.sent.push(m);
    return true;
  };
}

test('pm2 trigger <app> loglevel [LEVEL[:SLOT]] shows or sets levels', (t) => {
  const { clock, spawner, sup } = setup(t);
  readyAll(spawner.children, clock);
  const pm2 = new FakePm2();
  const remove = registerPm2Actions(sup, pm2);
  t.after(remove);
  assert.ok(pm2.sent.some((m) => JSON.stringify(m) === JSON.stringify({ type: 'axm:action', data: { action_name: 'loglevel', action_type: 'custom', opts: null, arity: 2 } })));
  pm2.sent.length = 0;
  pm2.emit('message', { msg: 'loglevel', opts: 'debug', name: 'm2pool' });
  pm2.emit('message', { msg: 'loglevel', opts: 'warn:1', name: 'm2pool' });
  pm2.emit('message', 'loglevel');
  pm2.emit('message', { msg: 'loglevel', opts: 'debug:9' });
  pm2.emit('message', { msg: 'loglevel', opts: 'shout' });
  pm2.emit('message', { msg: 'loglevel', opts: '1:debug' });
  const replies = pm2.sent.map((m) => (m as { data: { return: unknown } }).data.return);
  assert.deepEqual(replies, [
    { success: true, level: 'debug', previous: 'info', slot: null, workers: 2 },
    { success: true, level: 'warn', previous: 'debug', slot: 1, workers: 1 },
    { success: true, supervisor: 'debug', workers: 'debug', slots: { '1': 'warn' } },
    { success: false, error: 'no slot 9 in the pool (slots: 0, 1)' },
    { success: false, error: 'unknown log level "shout": use one of fatal|error|warn|info|debug|trace|silent' },
    { success: false, error: 'usage: pm2 trigger <app> loglevel [LEVEL[:SLOT]] (e.g. debug, or warn:1 for slot 1 only)' },
  ]);
  assert.deepEqual(spawner.children.map(levelMessages), [['debug'], ['debug', 'warn']]);
});
