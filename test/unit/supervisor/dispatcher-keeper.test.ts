/**
 * The pool's own dispatcher, kept by the supervisor's loop (fake children, fake clock): forked first with the
 * dispatcher command line, the workers get `--dispatcher`; restarted at once when it dies; readiness follows its
 * Mongrel2 links; on stop it is asked to stop only after every worker exited.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Supervisor } from '../../../src/supervisor/arbiter/supervisor';
import { formatStatus } from '../../../src/cli/status-format';
import { testConfig } from '../../helpers/supervisor-config';
import { fakeSpawner, type FakeChild } from '../../helpers/supervisor-fake-child';
import { FakeClock } from '../../helpers/supervisor-fake-clock';
import { LogSink } from '../../helpers/supervisor-log-sink';

function setup(t: TestContext) {
  const config = testConfig({ topology: 'dispatch', runDir: '/tmp/m2p-keeper-test', workers: 2 });
  const clock = new FakeClock();
  const spawner = fakeSpawner();
  const sink = new LogSink();
  const sup = new Supervisor({ config, logger: sink.logger(), spawn: spawner.spawn, clock });
  t.after(() => {
    void sup.destroy();
    clock.advance(60_000);
  });
  sup.start();
  clock.advance(0);
  const dispatchers = (): FakeChild[] => spawner.children.filter((c) => c.request.args[0] === 'dispatcher');
  const workers = (): FakeChild[] => spawner.children.filter((c) => c.request.args[0] !== 'dispatcher');
  return { clock, spawner, sink, sup, dispatchers, workers };
}

function beat(c: FakeChild, linksReady: number, grants: Record<string, number> = {}): void {
  c.emit('message', { type: 'm2pool:heartbeat', inFlight: 0, handled: 0, loopLagMs: 0, rssBytes: 1, linksReady, grants });
}

test('forks the dispatcher with its command line; the workers get --dispatcher and no Mongrel2 specs', (t) => {
  const { dispatchers, workers } = setup(t);
  const [d] = dispatchers();
  assert.ok(d !== undefined);
  assert.deepEqual(d.request.args.slice(0, 1), ['dispatcher']);
  assert.ok(d.request.args.join(' ').includes('--bind ipc:///tmp/m2p-keeper-test/dispatch.sock'));
  assert.equal(workers().length, 2);
  for (const w of workers()) {
    assert.deepEqual(w.request.config?.dispatcher, { endpoint: 'ipc:///tmp/m2p-keeper-test/dispatch.sock' });
    assert.deepEqual(w.request.config.sendSpecs, []);
  }
});

test('readiness follows the dispatcher: down, booting, without Mongrel2, then ready; /pool shows grants', (t) => {
  const { clock, sup, dispatchers, workers } = setup(t);
  for (const w of workers()) w.ready();
  clock.advance(0);
  assert.equal(sup.notReadyReason(), 'the dispatcher is starting');
  const [d] = dispatchers();
  d?.ready();
  clock.advance(0);
  assert.equal(sup.isReady(), true);
  if (d !== undefined) beat(d, 0);
  clock.advance(0);
  assert.match(sup.notReadyReason() ?? '', /dispatcher has 0 of 1 Mongrel2/);
  if (d !== undefined) beat(d, 1, { '0': 5 });
  clock.advance(0);
  assert.equal(sup.isReady(), true);
  const snap = sup.snapshot();
  assert.equal(snap.topology, 'dispatch');
  assert.equal(snap.dispatcher?.state, 'ready');
  assert.deepEqual(snap.workers.map((w) => [w.slot, w.grant]), [[0, 5], [1, 0]]);
  const text = formatStatus(snap);
  assert.match(text, /topology dispatch: dispatcher ready \(pid \d+\), Mongrel2 1\/1/);
  assert.match(text, /GRANT/);
});

test('a dispatcher that dies is restarted at once, without a breaker; the pool is not ready meanwhile', (t) => {
  const { clock, sup, dispatchers, workers } = setup(t);
  for (const w of workers()) w.ready();
  for (let i = 0; i < 6; i += 1) {
    const d = dispatchers().at(-1);
    d?.ready();
    clock.advance(0);
    assert.equal(sup.isReady(), true);
    d?.exit(null, 'SIGKILL');
    clock.advance(0);
    // A dispatcher that served restarts with no delay at all.
    assert.equal(dispatchers().length, i + 2, `restart ${i + 1} came at once`);
    assert.equal(sup.notReadyReason(), 'the dispatcher is starting');
  }
  assert.equal(sup.snapshot().dispatcher?.restarts, 6);
  assert.equal(workers().filter((w) => !w.exited).length, 2, 'the workers stay');
});

test('on stop the dispatcher is stopped last, after every worker exited', (t) => {
  const { clock, sup, dispatchers, workers } = setup(t);
  const [d] = dispatchers();
  d?.ready();
  for (const w of workers()) w.ready();
  clock.advance(0);
  void sup.stop();
  clock.advance(0);
  assert.ok(workers().every((w) => w.toldToStop));
  assert.equal(d?.toldToStop, false, 'draining workers still reply through the dispatcher');
  for (const w of workers()) w.exit(0);
  clock.advance(0);
  assert.equal(d?.toldToStop, true);
  assert.equal(sup.phase, 'stopping');
  d?.exit(0);
  clock.advance(0);
  assert.equal(sup.phase, 'stopped');
  assert.equal(dispatchers().length, 1, 'not restarted while stopping');
});
