import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BOOT_KILL_GRACE_MS, DRAIN_KILL_GRACE_MS, FAST_STOP_GRACE_MS, Supervisor } from '../../../src/supervisor/arbiter/supervisor';
import { testConfig } from '../../helpers/supervisor-config';
import { fakeSpawner, pumpHeartbeats, type FakeChild } from '../../helpers/supervisor-fake-child';
import { FakeClock } from '../../helpers/supervisor-fake-clock';
import { LogSink } from '../../helpers/supervisor-log-sink';

function setup(t: TestContext, overrides: Record<string, unknown> = {}, random: () => number = () => 0.5) {
  const config = testConfig(overrides);
  const clock = new FakeClock();
  const spawner = fakeSpawner();
  const sink = new LogSink();
  const sup = new Supervisor({ config, logger: sink.logger(), spawn: spawner.spawn, clock, random });
  t.after(() => {
    void sup.destroy();
    clock.advance(60_000);
  });
  sup.start();
  clock.advance(0);
  return { config, clock, spawner, sink, sup };
}

const slotOf = (c: FakeChild): number => Number(c.request.env['M2POOL_WORKER_SLOT']);
const genOf = (c: FakeChild): number => Number(c.request.env['M2POOL_WORKER_GENERATION']);

function readyAll(children: FakeChild[], clock: FakeClock): void {
  for (const c of children) if (!c.exited) c.ready();
  clock.advance(0);
}

test('starts the desired workers with slot and generation in their env, then reports ready', async (t) => {
  const { spawner, clock, sup, sink } = setup(t, { workers: 3, minReady: 2 });
  assert.deepEqual(spawner.children.map(slotOf), [0, 1, 2]);
  assert.deepEqual(spawner.children.map(genOf), [0, 0, 0]);
  assert.equal(sup.isReady(), false);
  spawner.children[0]?.ready();
  spawner.children[1]?.ready();
  clock.advance(0);
  assert.equal(sup.isReady(), true);
  await sup.whenReady;
  assert.equal(sink.events('pool.ready').length, 1);
  assert.equal(sink.events('worker.ready').length, 2);
  assert.equal(sup.snapshot().ready, 2);
});

test('scale-down drains the idle worker first and kills a busy one only after its drain timeout', (t) => {
  const { spawner, clock, sup, sink, config } = setup(t, { workers: 3 });
  readyAll(spawner.children, clock);
  const [busy, idle, medium] = spawner.children as [FakeChild, FakeChild, FakeChild];
  busy.heartbeat({ inFlight: 5 });
  idle.heartbeat({ inFlight: 0 });
  medium.heartbeat({ inFlight: 2 });

  assert.deepEqual(sup.scale(2), { ok: true, previous: 3, desired: 2 });
  clock.advance(0);
  assert.deepEqual(idle.sent, [{ type: 'm2pool:shutdown', drainTimeoutMs: config.drainTimeoutMs }]);
  assert.equal(busy.toldToStop || medium.toldToStop, false);
  idle.exit(0);
  clock.advance(0);
  const exit = sink.events('worker.exit')[0];
  assert.equal(exit?.['reason'], 'scale-down');
  assert.equal(exit?.['expected'], true);

  sup.scale(1);
  clock.advance(0);
  assert.equal(medium.toldToStop, true);
  assert.equal(busy.toldToStop, false);
  medium.exit(0);

  sup.scale(0);
  clock.advance(0);
  assert.equal(busy.toldToStop, true);
  clock.run(config.drainTimeoutMs + DRAIN_KILL_GRACE_MS - 20);
  assert.equal(busy.signals.includes('SIGKILL'), false, 'killed before its drain budget ran out');
  clock.run(40);
  assert.deepEqual(busy.signals, ['SIGKILL']);
  assert.equal(sink.events('worker.kill')[0]?.['reason'], 'drain-timeout');
  assert.equal(spawner.children.length, 3, 'scale-down must not respawn');
});

test('scale-up fills the lowest free slots; out-of-range requests are refused without side effects', (t) => {
  const { spawner, clock, sup } = setup(t, { workers: 1, maxWorkers: 4, minWorkers: 1 });
  assert.deepEqual(sup.scale({ delta: 2 }), { ok: true, previous: 1, desired: 3 });
  clock.advance(0);
  assert.deepEqual(spawner.children.map(slotOf), [0, 1, 2]);
  const over = sup.scale(5);
  assert.equal(over.ok, false);
  assert.match(!over.ok ? over.error : '', /allowed range is 1\.\.4/);
  const under = sup.scale({ delta: -3 });
  assert.equal(under.ok, false);
  assert.equal(sup.scale(2.5).ok, false);
  assert.equal(sup.desired, 3);
});

test('a worker that never reports ready is killed at the boot timeout and respawned after backoff', (t) => {
  const { spawner, clock, sink, config } = setup(t, { workers: 1 });
  const first = spawner.children[0]!;
  clock.run(config.bootTimeoutMs + BOOT_KILL_GRACE_MS + 10);
  assert.deepEqual(first.signals, ['SIGKILL']);
  assert.equal(sink.events('worker.kill')[0]?.['reason'], 'boot-timeout');
  const exit = sink.events('worker.exit')[0];
  assert.equal(exit?.['reason'], 'boot-timeout');
  assert.equal(exit?.['expected'], false);
  clock.run(30); // random 0.5 → delay 25 ms (cap 50)
  assert.equal(spawner.children.length, 2);
  assert.equal(slotOf(spawner.children[1]!), 0);
});

test('a ready worker whose heartbeats stop is SIGKILLed with reason heartbeat-timeout and replaced', (t) => {
  const { spawner, clock, sink, sup, config } = setup(t, { workers: 1 });
  const w = spawner.children[0]!;
  w.ready();
  clock.advance(0);
  for (let i = 0; i < 5; i++) {
    clock.run(config.heartbeatIntervalMs);
    w.heartbeat({ inFlight: 1 });
  }
  assert.deepEqual(w.signals, []);
  clock.run(config.heartbeatTimeoutMs + 10);
  assert.deepEqual(w.signals, ['SIGKILL']);
  const kill = sink.events('worker.kill')[0];
  assert.equal(kill?.['reason'], 'heartbeat-timeout');
  assert.ok(Number(kill?.['silentForMs']) >= config.heartbeatTimeoutMs);
  clock.run(100);
  assert.equal(spawner.children.length, 2);
  assert.equal(sup.snapshot().workers[0]?.restarts, 1);
});

test('a crash-looping slot opens its breaker and stops respawning while other slots keep serving', (t) => {
  const { spawner, clock, sink, sup } = setup(t, { workers: 2 });
  spawner.children[0]!.ready();
  clock.advance(0);
  for (let i = 0; i < 10; i++) {
    const c = spawner.live().find((x) => slotOf(x) === 1);
    if (c === undefined) break;
    c.emit('message', { type: 'm2pool:fatal', code: 'M2P_ERR_APP_LOAD', message: 'boom' });
    c.exit(4);
    pumpHeartbeats(clock, spawner.children, 300);
  }
  const slot1 = spawner.children.filter((c) => slotOf(c) === 1);
  assert.equal(slot1.length, 3, 'exactly maxFailures attempts');
  const loop = sink.events('slot.crashloop');
  assert.equal(loop.length, 1);
  assert.equal(loop[0]?.['slot'], 1);
  pumpHeartbeats(clock, spawner.children, 5_000);
  assert.equal(spawner.children.length, 4, 'no respawn after the breaker opened');
  const snap = sup.snapshot();
  assert.equal(snap.ready, 1);
  assert.deepEqual(snap.breaker.map((b) => [b.slot, b.open, b.failures]), [[1, true, 3]]);
  assert.equal(snap.breaker[0]?.lastExit?.reason, 'app-load-error');
  assert.equal(sink.events('worker.exit')[0]?.['hint'], 'the app module failed to load');
});

test('an open breaker lets one probe worker try after probeAfterMs: a failed probe waits again, a ready one closes it', (t) => {
  const probeAfterMs = 20_000;
  const { spawner, clock, sink, sup } = setup(t, { workers: 2, crashLoop: { maxFailures: 3, windowMs: 10_000, probeAfterMs } });
  spawner.children[0]!.ready();
  clock.advance(0);
  const slot1 = (): FakeChild[] => spawner.children.filter((c) => slotOf(c) === 1);
  const crashLive = (): void => {
    const c = spawner.live().find((x) => slotOf(x) === 1);
    assert.ok(c !== undefined, 'a slot-1 worker is running');
    c.exit(1);
    clock.advance(0);
  };
  for (let i = 0; i < 3; i++) {
    if (i > 0) pumpHeartbeats(clock, spawner.children, 300); // past the backoff: the slot respawned
    crashLive();
  }
  assert.equal(sink.events('slot.crashloop').length, 1);
  assert.equal(slot1().length, 3);
  const openedAt = clock.now();
  const snap = sup.snapshot().breaker.find((b) => b.slot === 1);
  assert.deepEqual([snap?.open, snap?.nextSpawnInMs], [true, probeAfterMs]);

  pumpHeartbeats(clock, spawner.children, probeAfterMs - 100);
  assert.equal(slot1().length, 3, 'no spawn before the probe is due');
  pumpHeartbeats(clock, spawner.children, 200);
  assert.equal(slot1().length, 4, 'one probe worker');
  assert.equal(sink.events('slot.probe').length, 1);
  assert.ok(Number(sink.events('slot.probe')[0]?.['openForMs']) >= probeAfterMs);

  crashLive(); // the probe fails: the breaker stays open for another full period
  assert.equal(sup.snapshot().breaker.find((b) => b.slot === 1)?.open, true);
  pumpHeartbeats(clock, spawner.children, probeAfterMs - 100);
  assert.equal(slot1().length, 4, 'a failed probe re-arms the wait');
  pumpHeartbeats(clock, spawner.children, 200);
  assert.equal(slot1().length, 5, 'the second probe');

  spawner.live().find((x) => slotOf(x) === 1)!.ready();
  clock.advance(0);
  assert.equal(sink.events('slot.recovered').length, 1);
  assert.ok(clock.now() - openedAt >= 2 * probeAfterMs);
  const after = sup.snapshot();
  assert.equal(after.ready, 2);
  assert.equal(after.breaker.find((b) => b.slot === 1)?.open ?? false, false);
  // Closed means closed: a later crash restarts with backoff, it does not wait for a probe.
  crashLive();
  pumpHeartbeats(clock, spawner.children, 300);
  assert.equal(slot1().length, 6);
});

test('with probeAfterMs 0 an open breaker stays open until a reload', (t) => {
  const { spawner, clock, sink } = setup(t, { workers: 2, crashLoop: { maxFailures: 3, windowMs: 10_000, probeAfterMs: 0 } });
  spawner.children[0]!.ready();
  clock.advance(0);
  for (let i = 0; i < 3; i++) {
    spawner.live().find((x) => slotOf(x) === 1)?.exit(1);
    pumpHeartbeats(clock, spawner.children, 300);
  }
  pumpHeartbeats(clock, spawner.children, 60_000, 1_000);
  assert.equal(spawner.children.filter((c) => slotOf(c) === 1).length, 3);
  assert.deepEqual(sink.events('slot.probe'), []);
});

test('disconnect notices: relaying is on only while a worker waits on a connection, and a relayed notice reaches that worker only', (t) => {
  const { spawner, clock, sup, config } = setup(t, { workers: 3 });
  readyAll(spawner.children, clock);
  const [a, b, c] = spawner.children as [FakeChild, FakeChild, FakeChild];
  const relayFlags = (x: FakeChild): boolean[] => x.sent.flatMap((m) => (m.type === 'm2pool:relay-disconnects' ? [m.on] : []));
  const relayed = (x: FakeChild): string[] => x.sent.flatMap((m) => (m.type === 'm2pool:disconnect' ? [m.key] : []));
  a.heartbeat();
  b.heartbeat();
  assert.deepEqual([relayFlags(a), relayFlags(b), relayFlags(c)], [[], [], []], 'nothing slow: no relaying, no IPC');

  b.heartbeat({ inFlight: 1, waiting: ['0\u0000srv\u00007'] });
  clock.advance(0); // child events record facts; the loop pass acts on them
  assert.deepEqual([relayFlags(a), relayFlags(b), relayFlags(c)], [[true], [true], [true]]);
  a.emit('message', { type: 'm2pool:disconnect', key: '0\u0000srv\u00007' });
  a.emit('message', { type: 'm2pool:disconnect', key: '0\u0000srv\u00008' }); // nobody waits on 8
  clock.advance(0);
  assert.deepEqual([relayed(a), relayed(b), relayed(c)], [[], ['0\u0000srv\u00007'], []]);

  // A worker ready later learns that relaying is on.
  assert.equal(sup.scale(4).ok, true);
  clock.advance(0);
  const d = spawner.children[3]!;
  d.ready();
  clock.advance(0);
  assert.deepEqual(relayFlags(d), [true]);

  // A notice for a connection nobody reports yet (its request is younger than a heartbeat interval) is held…
  a.emit('message', { type: 'm2pool:disconnect', key: '0\u0000srv\u00009' });
  clock.advance(0);
  assert.deepEqual(relayed(c), []);
  clock.advance(config.heartbeatIntervalMs);
  c.heartbeat({ inFlight: 1, waiting: ['0\u0000srv\u00009'] }); // …and handed over once a heartbeat reports it
  clock.advance(0);
  assert.deepEqual(relayed(c), ['0\u0000srv\u00009']);
  // One nobody ever reports is dropped after three intervals.
  a.emit('message', { type: 'm2pool:disconnect', key: '0\u0000srv\u000010' });
  clock.advance(3 * config.heartbeatIntervalMs);
  c.heartbeat({ inFlight: 1, waiting: ['0\u0000srv\u000010'] });
  clock.advance(0);
  assert.deepEqual(relayed(c), ['0\u0000srv\u00009']);

  b.heartbeat({ inFlight: 0 }); // the slow requests ended
  c.heartbeat({ inFlight: 0 });
  clock.advance(0);
  assert.deepEqual([relayFlags(a), relayFlags(b), relayFlags(c), relayFlags(d)], [[true, false], [true, false], [true, false], [true, false]]);
});

test('a reload re-reads the configuration: new workers get it, desired follows an edited workers count only, admin stays', async (t) => {
  const base = { workers: 2, requestTimeoutMs: 5_000 };
  let next: Record<string, unknown> = base;
  const config = testConfig(base);
  const clock = new FakeClock();
  const spawner = fakeSpawner();
  const sink = new LogSink();
  const sup = new Supervisor({ config, logger: sink.logger(), spawn: spawner.spawn, clock, random: () => 0.5, reloadConfig: () => testConfig(next) });
  t.after(() => {
    void sup.destroy();
    clock.advance(60_000);
  });
  sup.start();
  clock.advance(0);
  readyAll(spawner.children, clock);

  // Unchanged sources: a plain code reload.
  assert.deepEqual(await sup.reload(), { ok: true, generation: 1, changed: [] });
  // A scaled pool keeps its count through a reload whose config did not change `workers`.
  assert.equal(sup.scale(3).ok, true);
  next = { ...base, requestTimeoutMs: 9_000, admin: '127.0.0.1:1' };
  const r = await sup.reload();
  assert.deepEqual(r, { ok: true, generation: 2, changed: ['requestTimeoutMs'] });
  assert.equal(sup.snapshot().desired, 3);
  clock.advance(0);
  const gen2 = spawner.children.filter((c) => genOf(c) === 2);
  assert.ok(gen2.length > 0);
  for (const c of gen2) assert.equal(c.request.config?.requestTimeoutMs, 9000);
  const kept = sink.events('pool.reload').find((l) => l['outcome'] === 'config-kept');
  assert.deepEqual(kept?.['keys'], ['admin']);

  // An edited `workers` count is applied.
  next = { ...base, requestTimeoutMs: 9_000, workers: 4 };
  assert.deepEqual(await sup.reload(), { ok: true, generation: 3, changed: ['workers'] });
  assert.equal(sup.snapshot().desired, 4);
  assert.equal(sink.events('pool.scale').at(-1)?.['source'], 'config');

  // An invalid file changes nothing: no new generation, an error that says why.
  next = { ...base, workers: 'many' };
  const bad = await sup.reload();
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.status, 400);
  assert.match(!bad.ok ? bad.error : '', /configuration not reloaded, nothing changed: .*workers/);
  assert.equal(sup.snapshot().generation, 3);
  assert.equal(sink.events('pool.reload').at(-1)?.['outcome'], 'rejected');
});

test('rolling reload starts replacements first and never lets ready drop below desired', async (t) => {
  const { spawner, clock, sink, sup } = setup(t, { workers: 3, maxSurge: 1 });
  readyAll(spawner.children, clock);
  const old = [...spawner.children];
  let minReady = Infinity;
  sink.onLine = () => {
    minReady = Math.min(minReady, sup.snapshot().ready);
  };
  assert.deepEqual(await sup.reload(), { ok: true, generation: 1, changed: [] });
  for (let step = 0; step < 10 && sink.events('pool.reload', (l) => l['outcome'] === 'complete').length === 0; step++) {
    clock.advance(0);
    // Let loop passes run while the replacement boots: the old worker must keep serving meanwhile.
    pumpHeartbeats(clock, spawner.children, 1_100);
    minReady = Math.min(minReady, sup.snapshot().ready);
    for (const c of spawner.live()) {
      if (genOf(c) === 1) c.ready();
      else if (c.toldToStop) c.exit(0);
    }
    clock.advance(0);
  }
  assert.equal(sink.events('pool.reload', (l) => l['outcome'] === 'complete').length, 1);
  for (const c of spawner.live()) if (c.toldToStop) c.exit(0);
  clock.advance(0);
  assert.ok(minReady >= 3, `ready dropped to ${minReady}`);
  assert.ok(old.every((c) => c.exited && c.sent.some((m) => m.type === 'm2pool:shutdown')));
  const snap = sup.snapshot();
  assert.deepEqual(snap.workers.map((w) => [w.slot, w.generation, w.state]), [[0, 1, 'ready'], [1, 1, 'ready'], [2, 1, 'ready']]);
  assert.ok(sink.events('worker.exit').every((l) => l['reason'] === 'reload' && l['expected'] === true));
});

test('a reload whose new generation crash-loops fails and leaves the old workers serving', async (t) => {
  const { spawner, clock, sink, sup } = setup(t, { workers: 2 });
  readyAll(spawner.children, clock);
  await sup.reload();
  for (let i = 0; i < 10; i++) {
    clock.advance(0);
    for (const c of spawner.live()) if (genOf(c) === 1) c.exit(1);
    pumpHeartbeats(clock, spawner.children, 300);
  }
  assert.equal(sink.events('pool.reload', (l) => l['outcome'] === 'failed').length, 1);
  assert.equal(spawner.children.filter((c) => genOf(c) === 1).length, 3);
  const snap = sup.snapshot();
  assert.equal(snap.ready, 2);
  assert.equal(snap.rollout?.failed, true);
  assert.ok(spawner.children.filter((c) => genOf(c) === 0).every((c) => !c.toldToStop));
});

test('recycling after maxRequests starts the replacement first, then drains the old worker', (t) => {
  const { spawner, clock, sink, sup } = setup(t, { workers: 1, maxRequests: 100, maxRequestsJitter: 0 });
  const old = spawner.children[0]!;
  old.ready();
  clock.advance(0);
  old.heartbeat({ handled: 99 });
  clock.advance(0);
  assert.equal(spawner.children.length, 1);
  old.heartbeat({ handled: 100 });
  clock.advance(0);
  assert.equal(spawner.children.length, 2);
  assert.equal(old.toldToStop, false, 'old worker drained before its replacement was ready');
  spawner.children[1]!.ready();
  clock.advance(0);
  assert.equal(old.toldToStop, true);
  assert.equal(sink.events('worker.drain')[0]?.['reason'], 'recycle-requests');
  assert.equal(sup.snapshot().ready, 1);
});

test('recycling by RSS uses the same surge replacement', (t) => {
  const { spawner, clock, sink } = setup(t, { workers: 1, maxRssBytes: 2_000_000 });
  const old = spawner.children[0]!;
  old.ready();
  old.heartbeat({ rssBytes: 3_000_000 });
  clock.advance(0);
  spawner.children[1]!.ready();
  clock.advance(0);
  assert.equal(sink.events('worker.drain')[0]?.['reason'], 'recycle-rss');
});

test('graceful stop drains every worker, SIGKILLs one that ignores it at its drain deadline, then stops', (t) => {
  const { spawner, clock, sink, sup, config } = setup(t, { workers: 2 });
  readyAll(spawner.children, clock);
  const [polite, stubborn] = spawner.children as [FakeChild, FakeChild];
  void sup.stop();
  clock.advance(0);
  assert.ok(polite.toldToStop && stubborn.toldToStop);
  polite.exit(0);
  clock.run(config.drainTimeoutMs + DRAIN_KILL_GRACE_MS + 20);
  assert.deepEqual(stubborn.signals, ['SIGKILL']);
  clock.advance(0);
  assert.equal(sup.phase, 'stopped');
  const stopped = sink.events('pool.stop', (l) => l['outcome'] === 'stopped')[0];
  assert.equal(stopped?.['killed'], 1);
  assert.equal(sup.scale(3).ok, false);
});

test('a second stop intent hurries: SIGTERM now, SIGKILL after the fast-stop grace', (t) => {
  const { spawner, clock, sup } = setup(t, { workers: 1 });
  readyAll(spawner.children, clock);
  const w = spawner.children[0]!;
  sup.recordIntent('stop', 'SIGTERM');
  clock.advance(0);
  assert.equal(w.sent[0]?.type, 'm2pool:shutdown');
  sup.recordIntent('stop', 'SIGTERM');
  clock.advance(0);
  assert.deepEqual(w.signals, ['SIGTERM']);
  clock.run(FAST_STOP_GRACE_MS + 20);
  assert.deepEqual(w.signals, ['SIGTERM', 'SIGKILL']);
  clock.advance(0);
  assert.equal(sup.phase, 'stopped');
});

test('signal intents are recorded and acted on by the loop, not in the handler', (t) => {
  const { clock, sup, spawner } = setup(t, { workers: 1 });
  sup.recordIntent('scale-up', 'SIGTTIN');
  assert.equal(sup.desired, 1);
  clock.advance(0);
  assert.equal(sup.desired, 2);
  assert.equal(spawner.children.length, 2);
  sup.recordIntent('reload', 'SIGHUP');
  clock.advance(0);
  assert.equal(sup.generation, 1);
});

test('a worker that starts draining on its own is replaced at once and its exit is not a failure', (t) => {
  const { spawner, clock, sink, sup } = setup(t, { workers: 1 });
  const w = spawner.children[0]!;
  w.ready();
  clock.advance(0);
  w.emit('message', { type: 'm2pool:draining', inFlight: 1 });
  clock.advance(0);
  assert.equal(spawner.children.length, 2);
  w.exit(0);
  clock.advance(0);
  const exit = sink.events('worker.exit')[0];
  assert.deepEqual([exit?.['reason'], exit?.['expected']], ['external', true]);
  assert.deepEqual(sup.snapshot().breaker, [], 'no failure recorded');
});

test('a spawn that throws counts as a failure and is retried with backoff', (t) => {
  const config = testConfig({ workers: 1 });
  const clock = new FakeClock();
  const sink = new LogSink();
  const good = fakeSpawner();
  let calls = 0;
  const sup = new Supervisor({
    config,
    clock,
    logger: sink.logger(),
    random: () => 0.5,
    spawn: (req) => {
      calls += 1;
      if (calls === 1) throw new Error('EAGAIN');
      return good.spawn(req);
    },
  });
  t.after(() => {
    void sup.destroy();
    clock.advance(10_000);
  });
  sup.start();
  clock.advance(0);
  clock.run(50);
  assert.equal(calls, 2);
  assert.equal(sink.events('worker.exit')[0]?.['reason'], 'spawn-error');
  assert.equal(good.children.length, 1);
});

test('the observer hears states, heartbeats, metrics, exits, scale and breakers; a throwing one breaks nothing', async (t) => {
  const heard: string[] = [];
  const config = testConfig({ workers: 1, crashLoop: { maxFailures: 1, windowMs: 10_000 } });
  const clock = new FakeClock();
  const spawner = fakeSpawner();
  const sink = new LogSink();
  const sup = new Supervisor({
    config,
    clock,
    logger: sink.logger(),
    spawn: spawner.spawn,
    random: () => 0.5,
    observer: {
      workerState: (w, state) => heard.push(`state ${w.slot} ${state}`),
      heartbeat: (w, hb) => heard.push(`heartbeat ${w.slot} ${hb.handled}`),
      metrics: (w, m) => heard.push(`metrics ${w.slot} ${JSON.stringify(m)}`),
      workerExit: (w, v) => heard.push(`exit ${w.slot} ${v.reason} ${v.failure}`),
      desired: (a, b) => heard.push(`desired ${a}->${b}`),
      crashloop: (slot, open) => heard.push(`crashloop ${slot} ${open}`),
      slotRemoved: (slot) => {
        heard.push(`removed ${slot}`);
        throw new Error('observer bug');
      },
    },
  });
  t.after(() => {
    void sup.destroy();
    clock.advance(10_000);
  });
  sup.start();
  clock.advance(0);
  const w = spawner.children[0]!;
  w.ready();
  w.heartbeat({ handled: 7 });
  w.emit('message', { type: 'm2pool:metrics', metrics: [] });
  sup.scale(2);
  clock.advance(0);
  spawner.children[1]!.exit(1);
  clock.advance(0);
  await sup.reload();
  sup.scale(1);
  clock.advance(0);
  assert.deepEqual(heard.slice(0, 12), [
    'desired 1->1',
    'state 0 booting',
    'state 0 ready',
    'heartbeat 0 7',
    'metrics 0 []',
    'desired 1->2',
    'state 1 booting',
    'state 1 exited',
    'crashloop 1 true',
    'exit 1 crash true',
    'crashloop 1 false',
    'desired 2->1',
  ]);
  assert.ok(heard.includes('removed 1'));
  assert.equal(sink.events('observer.error').length, 1);
  assert.equal(sup.isLive(), true);
});
