/**
 * Three hosts, simulated with Linux network namespaces (test/helpers/netns.ts, one bridged /24): host A runs
 * Mongrel2 and `m2pool dispatcher` bound on tcp://A:PORT with CURVE; hosts B and C run 2 workers of examples/hello
 * each, over tcp with their host's key. Under keep-alive GET load from 24 clients inside A (against Mongrel2 on A's
 * loopback), host B's pool is scaled to 0 (SIGTERM: graceful leave) and back to 2: every request gets its own 200,
 * and both hosts served. A worker whose key is not authorized is refused and serves nothing. Where network
 * namespaces cannot be made (not root, `ip netns add` refused), the test says why and skips.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startTestDispatcher } from '../helpers/dispatcher';
import { keygen } from '../helpers/keys';
import type { LoadAgentSummary } from '../helpers/load-agent';
import { startTestMongrel2, type TestMongrel2 } from '../helpers/mongrel2';
import { createLan, listNetns, netnsUnavailable, runsInNetns, type SimulatedHost, type SimulatedLan } from '../helpers/netns';
import { CLI, HELLO_APP, REPO_ROOT, spawnNode, type LogLine, type TestProcess } from '../helpers/processes';
import { isAlive, waitFor } from '../helpers/wait-for';

const CLIENTS = 24;
/** Any port: host A's namespace is fresh, nothing else listens there. */
const DISPATCH_PORT = 7300;
/** Requests to see between two steps, so each phase (B at 2, B at 0, B back at 2) carries real traffic. */
const PER_PHASE = 300;
const LOAD_AGENT = path.join(REPO_ROOT, 'dist/test/helpers/load-agent.js');

test('hosts B and C serve host A over tcp+CURVE; B scaled 2 → 0 → 2 under GET load: zero failed; a stranger key is refused', { timeout: 60_000 }, async (t) => {
  const unavailable = await netnsUnavailable();
  if (unavailable !== undefined) {
    t.skip(unavailable);
    return;
  }
  const procs: TestProcess[] = [];
  let m2: TestMongrel2 | undefined;
  let lan: SimulatedLan | undefined;
  const keys = await mkdtemp(path.join(tmpdir(), 'm2p-keys-'));
  let cleaning: Promise<void> | undefined;
  // Processes first (a namespace lives on while a process is in it), then Mongrel2, then the namespaces.
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      await Promise.all(procs.map((p) => p.stop()));
      await m2?.stop();
      await lan?.remove();
      await rm(keys, { recursive: true, force: true });
    })());
  t.after(cleanup);

  lan = await createLan(['a', 'b', 'c']);
  const [a, b, c] = lan.hosts as [SimulatedHost, SimulatedHost, SimulatedHost];

  // One key pair for the dispatcher and one per worker host; only B's and C's public keys are authorized.
  const authorized = path.join(keys, 'authorized');
  await Promise.all([keygen(keys, 'dispatcher'), keygen(authorized, 'host-b'), keygen(authorized, 'host-c'), keygen(keys, 'stranger')]);
  await Promise.all(['host-b', 'host-c'].map((name) => rename(path.join(authorized, `${name}.key`), path.join(keys, `${name}.key`))));

  m2 = await startTestMongrel2({ netns: a.netns });
  const endpoint = `tcp://${a.address}:${DISPATCH_PORT}`;
  const dispatcher = await startTestDispatcher(
    m2,
    ['--curve-secret-file', path.join(keys, 'dispatcher.key'), '--curve-authorized-dir', authorized],
    { endpoint, prefix: a.exec },
  );
  procs.push(dispatcher.proc);
  const workerArgs = (key: string): string[] => ['--dispatcher', endpoint, '--curve-server-key-file', path.join(keys, 'dispatcher.pub'), '--curve-secret-file', path.join(keys, `${key}.key`)];
  // Each worker joins the cleanup list when spawned, so one that never becomes ready cannot orphan the others.
  const startHostWorkers = async (host: SimulatedHost, n: number): Promise<TestProcess[]> => {
    const started = Array.from({ length: n }, () =>
      spawnNode([CLI, 'worker', '--app', HELLO_APP, ...workerArgs(`host-${host.name}`), '--request-log-level', 'info'], { prefix: host.exec }),
    );
    procs.push(...started);
    await Promise.all(started.map((w) => w.waitForLog((l) => l['msg'] === 'worker.ready')));
    return started;
  };
  const [poolB, poolC] = await Promise.all([startHostWorkers(b, 2), startHostWorkers(c, 2)]);

  const agent = spawnNode([LOAD_AGENT, JSON.stringify({ port: m2.port, clients: CLIENTS, maxMs: 25_000 })], { prefix: a.exec });
  procs.push(agent);
  const completed = (): number => Math.max(0, ...agent.logs.map((l) => (l['event'] === 'load.progress' ? Number(l['completed']) : 0)));
  const progress = (n: number): Promise<unknown> =>
    agent.waitForLog((l) => l['event'] === 'load.progress' && Number(l['completed']) >= n, 15_000).catch((err: unknown) => {
      throw new Error(`the load did not reach ${n} requests (at ${completed()}): ${err instanceof Error ? err.message : String(err)}`);
    });
  // The dispatcher breaks ties of free credit by registration order, so under light concurrency one worker may
  // get nothing: "a host served" is an event to wait for (its first per-request log line), not a count to hope for.
  const serves = (host: string, pool: readonly TestProcess[]): Promise<unknown> =>
    waitFor(() => pool.some((w) => w.logs.some((l) => l['msg'] === 'request')), { timeoutMs: 15_000, what: `a worker of host ${host} to serve a request` });
  await Promise.all([progress(PER_PHASE), serves('B', poolB), serves('C', poolC)]);
  // Each process runs on its host (checked once each is up): nothing here talks over the root namespace.
  for (const [pid, host] of [[m2.process.child.pid ?? -1, a], [dispatcher.proc.pid, a], [agent.pid, a], ...poolB.map((w) => [w.pid, b] as const), ...poolC.map((w) => [w.pid, c] as const)] as const) {
    assert.ok(await runsInNetns(pid, host.netns), `pid ${pid} runs in ${host.netns}`);
  }

  // A worker on host C with a key the dispatcher does not know: refused (exit 3, a boot error), never ready.
  const stranger = spawnNode([CLI, 'worker', '--app', HELLO_APP, ...workerArgs('stranger'), '--boot-timeout-ms', '10000'], { prefix: c.exec });
  procs.push(stranger);
  const strangerReady = (): boolean => stranger.logs.some((l) => l['msg'] === 'worker.ready');
  await waitFor(() => stranger.child.exitCode !== null || strangerReady(), { timeoutMs: 15_000, what: 'the stranger to exit or become ready' });
  assert.equal(strangerReady(), false, 'the stranger must never become ready');
  const [strangerCode] = await stranger.exited;
  assert.equal(strangerCode, 3, `stranger exit code; stderr: ${stranger.stderr().slice(-500)}`);
  assert.match(String((await stranger.waitForLog((l) => l['event'] === 'worker.fatal'))['msg']), /refused our CURVE key/);
  await dispatcher.proc.waitForLog((l) => l['event'] === 'dispatcher.auth.refused');

  // Host B to 0: both its workers leave gracefully; host C carries the load alone.
  const beforeLeave = completed();
  for (const w of poolB) w.signal('SIGTERM');
  for (const w of poolB) assert.deepEqual(await w.exited, [0, null], 'a leaving worker exits cleanly');
  await progress(Math.max(beforeLeave, completed()) + PER_PHASE);
  // And back to 2.
  const poolB2 = await startHostWorkers(b, 2);
  for (const w of poolB2) assert.ok(await runsInNetns(w.pid, b.netns));
  const backAt = completed();
  await Promise.all([serves('B (back at 2)', poolB2), progress(backAt + PER_PHASE)]);

  agent.signal('SIGTERM');
  const summary = (await agent.waitForLog((l) => l['event'] === 'load.done')) as unknown as LoadAgentSummary;
  assert.deepEqual(await agent.exited, [0, null]);
  assert.equal(summary.stoppedBy, 'signal', 'the load ran until told to stop');
  assert.deepEqual(summary.problems, [], `${summary.failed} of ${summary.completed} requests failed or went unanswered`);
  assert.equal(summary.failed, 0);
  assert.equal(summary.answered, summary.completed);

  // Every worker answered all it took, each pool of each host served, and together they answered exactly the
  // requests of the load, so the stranger served nothing.
  const stayers = [...poolC, ...poolB2];
  for (const w of stayers) w.signal('SIGTERM');
  const served = new Map<TestProcess, number>();
  for (const w of [...poolB, ...stayers]) {
    const stats = (await w.waitForLog((l) => l['msg'] === 'worker.exit'))['stats'] as Record<string, number>;
    assert.equal(stats['response'], stats['received'], `worker ${w.pid}: ${JSON.stringify(stats)}`);
    served.set(w, stats['response'] ?? 0);
  }
  const sum = (pool: readonly TestProcess[]): number => pool.reduce((total, w) => total + (served.get(w) ?? 0), 0);
  for (const [name, pool] of [['B', poolB], ['B back at 2', poolB2], ['C', poolC]] as const) assert.ok(sum(pool) > 0, `host ${name} served`);
  assert.equal(sum(poolB) + sum(poolB2) + sum(poolC), summary.completed);

  // The dispatcher's side: each of the 6 workers registered over tcp and left through LEAVE, holding nothing when
  // its connection closed (`worker.left`, not `worker.lost`); nothing was retried or failed,
  // and it handed out exactly the load's requests (`received` also counts Mongrel2's disconnect notices).
  const events = (name: string): LogLine[] => dispatcher.proc.logs.filter((l) => l['event'] === name);
  const byPid = (x: number, y: number): number => x - y;
  const helloPids = events('dispatcher.worker.hello').map((l) => Number(l['workerPid']));
  assert.deepEqual(helloPids.sort(byPid), [...poolB, ...stayers].map((w) => w.pid).sort(byPid));
  // (Its log lines come through a pipe of their own: wait for them rather than assume they beat the workers' exit.)
  await waitFor(() => events('dispatcher.worker.leave').length >= 6 && events('dispatcher.worker.left').length >= 6, { what: 'the dispatcher to log 6 leaves and 6 departures' });
  assert.equal(events('dispatcher.worker.leave').length, 6);
  assert.equal(events('dispatcher.worker.left').length, 6);
  assert.deepEqual(events('dispatcher.worker.lost'), []);
  dispatcher.proc.signal('SIGTERM');
  const exit = await dispatcher.proc.waitForLog((l) => l['event'] === 'dispatcher.exit');
  assert.deepEqual([exit['dispatched'], exit['retries'], exit['failed']], [{ external: summary.completed }, 0, {}]);

  // Clean up now, and check it: no process left, no namespace of this run left.
  const pids = [...procs.map((p) => p.pid), m2.process.child.pid ?? -1];
  await cleanup();
  assert.deepEqual(pids.filter(isAlive), []);
  const leftover = (await listNetns()).filter((ns) => lan?.namespaces.includes(ns));
  assert.deepEqual(leftover, []);
  t.diagnostic(`${summary.completed} requests, 0 failed; host B served ${sum(poolB)} + ${sum(poolB2)} (after 2 → 0 → 2), host C ${sum(poolC)}`);
});
