/**
 * The things the benchmark compares, each started in its own process group(s) and stopped afterwards:
 *   m2pool     (a) `m2pool start` — a supervisor forking N workers that serve the app through Mongrel2
 *   floor      (b) N processes of floor-handler.ts, the thinnest correct handler on raw zeromq.js
 *   static     (c) Mongrel2 serving a file itself (a Dir route): no handler at all
 *   node-http  (d) the same app on plain node:http (a node:cluster primary + N workers), no Mongrel2
 *   hop-js     the floor of a dispatcher hop on zeromq.js (hop-forwarder.ts) with N `m2pool worker --dispatcher`
 *   hop-c      the same forwarder in C against libzmq (hop-forwarder.c, built on demand: native-hop.ts)
 *   hop-ts     m2pool's own dispatcher (`m2pool dispatcher`, defaults) in the same place: the same workers, alone
 */
import path from 'node:path';
import { freePort } from '../helpers/ports';
import { CLI, HELLO_APP, REPO_ROOT } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';
import { STATIC_HOST, type BenchMongrel2 } from './mongrel2-bench';
import { nativeHop } from './native-hop';
import { spawnGroup, type BenchProcess } from './procs';

export type VariantKind = 'm2pool' | 'floor' | 'static' | 'node-http' | 'hop-js' | 'hop-c' | 'hop-ts';

/** Which app the handler variants serve. */
export type AppName = 'hello' | 'bench' | 'hono' | 'express';

/** Module paths of the apps (what `--app` gets), in this checkout or in another one (`root`). */
export function appModule(app: AppName, root: string = REPO_ROOT): string {
  if (app === 'hello') return root === REPO_ROOT ? HELLO_APP : path.join(root, 'examples/hello');
  if (app === 'hono' || app === 'express') return path.join(root, 'examples', app);
  return path.join(root, 'dist/test/bench/bench-app.js');
}

const FLOOR_JS = path.join(REPO_ROOT, 'dist/test/bench/floor-handler.js');
const HTTP_SERVER_JS = path.join(REPO_ROOT, 'dist/test/bench/http-server.js');
const HOP_JS = path.join(REPO_ROOT, 'dist/test/bench/hop-forwarder.js');

/** One variant of a scenario. */
export interface VariantSpec {
  /** Unique in the scenario, e.g. `m2pool`, `m2pool-nometrics`, `floor`. */
  readonly id: string;
  readonly kind: VariantKind;
  /** Handler processes (0 for static). */
  readonly workers: number;
  /** m2pool only: serve this app instead of the scenario's (the adapter scenario: the same route in three apps). */
  readonly app?: AppName;
  /** m2pool only: `--metrics on|off`. */
  readonly metrics?: boolean;
  /** m2pool and hop-ts only: another built checkout of m2pool to run (its dist/src/cli/main.js and its apps), for before/after. */
  readonly root?: string;
  /** m2pool only: extra `m2pool start` flags of this variant. */
  readonly args?: readonly string[];
  /**
   * m2pool only: run exactly what `m2pool start` runs by default (no `--metrics`, `--log-level` or
   * `--request-log-level` flag: request log and metrics at their defaults), instead of the tuned bench settings.
   */
  readonly defaults?: boolean;
}

/** A process whose CPU and memory are measured. */
export interface Member {
  /** `mongrel2`, `supervisor` (m2pool) / `primary` (node:cluster), `worker`. */
  readonly role: 'mongrel2' | 'supervisor' | 'dispatcher' | 'primary' | 'worker';
  readonly pid: number;
}

/** A started variant. */
export interface RunningVariant {
  readonly spec: VariantSpec;
  /** Base URL wrk talks to. */
  readonly baseUrl: string;
  /** Host header (Mongrel2 variants). */
  readonly host: string | undefined;
  /** Processes involved in serving a request (Mongrel2 included where it is in the path). */
  members(): Member[];
  /** Fails when a process of the variant died or was replaced (a crash would skew the numbers). */
  check(): Promise<void>;
  stop(): Promise<void>;
}

/** Settings shared by every variant of a scenario. */
export interface VariantContext {
  readonly dir: string;
  readonly mongrel2: BenchMongrel2;
  readonly app: AppName;
  /** Extra `m2pool start` flags (experiments, e.g. `--receive-hwm 100`). */
  readonly poolArgs: readonly string[];
  /** When set, every Node process of a variant runs the V8 CPU profiler (cpu-profile-preload.ts) writing into `<profileDir>/<variant id>`. */
  readonly profileDir: string | undefined;
}

const PROFILE_PRELOAD = path.join(REPO_ROOT, 'dist/test/bench/cpu-profile-preload.js');

/** Environment of a profiled variant: the preload is inherited by forked and cluster workers through NODE_OPTIONS. */
function profileEnv(spec: VariantSpec, ctx: VariantContext): NodeJS.ProcessEnv {
  if (ctx.profileDir === undefined) return {};
  return { NODE_OPTIONS: `--require ${PROFILE_PRELOAD}`, BENCH_PROFILE_DIR: path.join(ctx.profileDir, spec.id) };
}

/** Host name of a variant in the scenario's Mongrel2 config. */
export function hostOf(spec: VariantSpec): string {
  return spec.kind === 'static' ? STATIC_HOST : spec.id;
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return res.json();
}

interface PoolView {
  readonly pid: number;
  readonly ready: number;
  readonly workers: ReadonlyArray<{ readonly pid: number | null; readonly state: string }>;
  /** The pool's own dispatcher (dispatch topology, the default); absent or null in direct mode. */
  readonly dispatcher?: { readonly pid: number | null } | null;
}

async function startM2pool(spec: VariantSpec, ctx: VariantContext): Promise<RunningVariant> {
  const h = ctx.mongrel2.handler(hostOf(spec));
  const adminPort = await freePort();
  const root = spec.root ?? REPO_ROOT;
  const args = [
    spec.root === undefined ? CLI : path.join(root, 'dist/src/cli/main.js'), 'start',
    '--app', appModule(spec.app ?? ctx.app, root),
    '--workers', String(spec.workers),
    '--send-spec', h.sendSpec,
    '--recv-spec', h.recvSpec,
    '--admin', `127.0.0.1:${adminPort}`,
    // Every pool its own run directory: the forked dispatcher binds ipc://RUN_DIR/dispatch.sock, and two pools of a
    // scenario (m2pool and m2pool-x, or the defaults and the tuned one) started together on the default ./run would
    // take that path from each other, leaving one pool's workers on the other's dispatcher (0 requests answered).
    '--run-dir', path.join(ctx.dir, `${spec.id}-run`),
    ...(spec.defaults === true
      ? []
      : [
          '--metrics', spec.metrics === false ? 'off' : 'on',
          '--log-level', 'info',
          // The one-line-per-request log is off (debug < info): the floor logs nothing either.
          '--request-log-level', 'debug',
        ]),
    ...ctx.poolArgs,
    ...(spec.args ?? []),
  ];
  const proc = spawnGroup(`m2pool ${spec.id}`, process.execPath, args, { cwd: REPO_ROOT, env: profileEnv(spec, ctx), logFile: path.join(ctx.dir, `${spec.id}.log`) });
  const admin = `http://127.0.0.1:${adminPort}`;
  let pids: number[] = [];
  let dispatcherPid: number | null = null;
  try {
    await waitFor(
      async () => {
        if (!proc.running()) throw new Error('supervisor exited');
        const pool = (await getJson(`${admin}/pool`)) as PoolView;
        const ready = pool.workers.filter((w) => w.state === 'ready' && w.pid !== null);
        if (ready.length !== spec.workers) return false;
        pids = ready.map((w) => w.pid!);
        dispatcherPid = pool.dispatcher?.pid ?? null;
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `${spec.id}: ${spec.workers} ready workers` },
    );
  } catch (err) {
    await proc.stop(3_000);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${proc.log().slice(-3000)}`);
  }
  return {
    spec,
    baseUrl: ctx.mongrel2.baseUrl,
    host: h.host,
    members: () => [
      { role: 'mongrel2', pid: ctx.mongrel2.proc.pid },
      { role: 'supervisor', pid: proc.pid },
      ...(dispatcherPid === null ? [] : [{ role: 'dispatcher' as const, pid: dispatcherPid }]),
      ...pids.map((pid) => ({ role: 'worker' as const, pid })),
    ],
    async check() {
      if (!proc.running()) throw new Error(`${spec.id}: supervisor exited\n${proc.log().slice(-3000)}`);
      const pool = (await getJson(`${admin}/pool`)) as PoolView;
      const now = pool.workers.filter((w) => w.state === 'ready').map((w) => w.pid);
      if (now.length !== pids.length || !pids.every((p) => now.includes(p))) {
        throw new Error(`${spec.id}: workers changed during the run (were ${pids.join(',')}, now ${now.join(',')})\n${proc.log().slice(-3000)}`);
      }
    },
    stop: () => proc.stop(15_000),
  };
}

async function startFloor(spec: VariantSpec, ctx: VariantContext): Promise<RunningVariant> {
  const h = ctx.mongrel2.handler(hostOf(spec));
  const procs: BenchProcess[] = [];
  for (let i = 0; i < spec.workers; i++) {
    procs.push(spawnGroup(`floor ${spec.id}/${i}`, process.execPath, [FLOOR_JS, h.sendSpec, h.recvSpec], { cwd: REPO_ROOT, env: profileEnv(spec, ctx), logFile: path.join(ctx.dir, `${spec.id}-${i}.log`) }));
  }
  try {
    await waitFor(
      () => {
        for (const p of procs) if (!p.running()) throw new Error(`${p.name} exited: ${p.log().slice(-2000)}`);
        return procs.every((p) => p.log().includes('floor.ready'));
      },
      { timeoutMs: 15_000, intervalMs: 50, what: `${spec.id}: ${spec.workers} floor handlers ready` },
    );
  } catch (err) {
    await Promise.all(procs.map((p) => p.stop(1_000)));
    throw err;
  }
  return {
    spec,
    baseUrl: ctx.mongrel2.baseUrl,
    host: h.host,
    members: () => [{ role: 'mongrel2', pid: ctx.mongrel2.proc.pid }, ...procs.map((p) => ({ role: 'worker' as const, pid: p.pid }))],
    async check() {
      for (const p of procs) if (!p.running()) throw new Error(`${p.name} exited: ${p.log().slice(-2000)}`);
    },
    stop: async () => {
      await Promise.all(procs.map((p) => p.stop(3_000)));
    },
  };
}

function startStatic(spec: VariantSpec, ctx: VariantContext): RunningVariant {
  return {
    spec,
    baseUrl: ctx.mongrel2.baseUrl,
    host: STATIC_HOST,
    members: () => [{ role: 'mongrel2', pid: ctx.mongrel2.proc.pid }],
    async check() {
      if (!ctx.mongrel2.proc.running()) throw new Error(`mongrel2 exited: ${ctx.mongrel2.proc.log().slice(-2000)}`);
    },
    stop: async () => undefined,
  };
}

async function startNodeHttp(spec: VariantSpec, ctx: VariantContext): Promise<RunningVariant> {
  const port = await freePort();
  const proc = spawnGroup(`node-http ${spec.id}`, process.execPath, [HTTP_SERVER_JS, appModule(ctx.app), String(port), String(spec.workers)], {
    cwd: REPO_ROOT,
    env: profileEnv(spec, ctx),
    logFile: path.join(ctx.dir, `${spec.id}.log`),
  });
  let pids: number[] = [];
  try {
    await waitFor(
      () => {
        if (!proc.running()) throw new Error('node-http primary exited');
        const m = /http\.ready ([\d,]+)/.exec(proc.log());
        if (m === null) return false;
        pids = m[1]!.split(',').map(Number);
        return true;
      },
      { timeoutMs: 15_000, intervalMs: 50, what: `${spec.id}: node:http workers listening` },
    );
  } catch (err) {
    await proc.stop(1_000);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${proc.log().slice(-2000)}`);
  }
  return {
    spec,
    baseUrl: `http://127.0.0.1:${port}`,
    host: undefined,
    members: () => [{ role: 'primary', pid: proc.pid }, ...pids.map((pid) => ({ role: 'worker' as const, pid }))],
    async check() {
      if (!proc.running()) throw new Error(`${spec.id}: primary exited: ${proc.log().slice(-2000)}`);
    },
    stop: () => proc.stop(3_000),
  };
}

/**
 * A thin forwarder (hop-js: zeromq.js, hop-c: C) between Mongrel2 and N `m2pool worker --dispatcher` processes
 * with their defaults: the same workers as the pool's, behind the cheapest possible hop.
 */
async function startHop(spec: VariantSpec, ctx: VariantContext): Promise<RunningVariant> {
  const h = ctx.mongrel2.handler(hostOf(spec));
  const endpoint = `ipc://${path.join(ctx.dir, `${spec.id}.sock`)}`;
  let command = process.execPath;
  let args = [HOP_JS, h.sendSpec, h.recvSpec, endpoint];
  if (spec.kind === 'hop-ts') args = [spec.root === undefined ? CLI : path.join(spec.root, 'dist/src/cli/main.js'), 'dispatcher', '--send-spec', h.sendSpec, '--recv-spec', h.recvSpec, '--bind', endpoint];
  if (spec.kind === 'hop-c') {
    const native = nativeHop(ctx.dir);
    if ('skipped' in native) throw new SkippedVariant(native.skipped);
    command = native.binary;
    args = args.slice(1);
  }
  const hop = spawnGroup(`hop ${spec.id}`, command, args, { cwd: REPO_ROOT, env: spec.kind === 'hop-c' ? {} : profileEnv(spec, ctx), logFile: path.join(ctx.dir, `${spec.id}-hop.log`) });
  const workers: BenchProcess[] = [];
  const all = (): BenchProcess[] => [hop, ...workers];
  try {
    await waitFor(() => {
      if (!hop.running()) throw new Error(`${hop.name} exited: ${hop.log().slice(-2000)}`);
      return hop.log().includes(spec.kind === 'hop-ts' ? '"msg":"dispatcher.ready"' : 'hop.ready');
    }, { timeoutMs: 15_000, intervalMs: 50, what: `${spec.id}: forwarder ready` });
    for (let i = 0; i < spec.workers; i++) {
      workers.push(spawnGroup(`${spec.id} worker ${i}`, process.execPath, [CLI, 'worker', '--app', appModule(ctx.app), '--dispatcher', endpoint], { cwd: REPO_ROOT, env: profileEnv(spec, ctx), logFile: path.join(ctx.dir, `${spec.id}-${i}.log`) }));
    }
    await waitFor(() => {
      for (const p of all()) if (!p.running()) throw new Error(`${p.name} exited: ${p.log().slice(-2000)}`);
      return workers.every((p) => p.log().includes('"msg":"worker.ready"'));
    }, { timeoutMs: 30_000, intervalMs: 50, what: `${spec.id}: ${spec.workers} workers ready` });
  } catch (err) {
    await Promise.all(all().map((p) => p.stop(1_000)));
    throw err;
  }
  return {
    spec,
    baseUrl: ctx.mongrel2.baseUrl,
    host: h.host,
    members: () => [{ role: 'mongrel2', pid: ctx.mongrel2.proc.pid }, { role: 'dispatcher', pid: hop.pid }, ...workers.map((p) => ({ role: 'worker' as const, pid: p.pid }))],
    async check() {
      for (const p of all()) if (!p.running()) throw new Error(`${p.name} exited: ${p.log().slice(-2000)}`);
    },
    stop: async () => {
      await Promise.all(workers.map((p) => p.stop(5_000)));
      await hop.stop(2_000);
    },
  };
}

/** A variant that cannot run on this machine (e.g. no C compiler): the scenario goes on without it. */
export class SkippedVariant extends Error {}

/** Start one variant and wait until it serves. */
export function startVariant(spec: VariantSpec, ctx: VariantContext): Promise<RunningVariant> {
  switch (spec.kind) {
    case 'm2pool':
      return startM2pool(spec, ctx);
    case 'floor':
      return startFloor(spec, ctx);
    case 'static':
      return Promise.resolve(startStatic(spec, ctx));
    case 'node-http':
      return startNodeHttp(spec, ctx);
    case 'hop-js':
    case 'hop-c':
    case 'hop-ts':
      return startHop(spec, ctx);
  }
}
