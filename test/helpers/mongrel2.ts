/**
 * A real Mongrel2 (Debian mongrel2-core) for a test: config written into a fresh temp dir, free HTTP port,
 * handler sockets on ipc (or tcp) inside that dir, started in the foreground and stopped afterwards; optionally
 * inside a network namespace (`ip netns exec`), where its port is on that namespace's loopback.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, prepareRunDir, startMongrel2, type Mongrel2Process } from '../../src/mongrel2/launcher';
import { freePorts } from './ports';
import { isAlive, waitFor } from './wait-for';

/** One Handler(...) in the generated config. */
export interface TestHandlerSpec {
  /** Route prefix, e.g. '/' or '/json'. */
  readonly route: string;
  /** @default 'tnetstring' */
  readonly protocol?: 'json' | 'tnetstring';
}

/** Options of {@link startTestMongrel2}. */
export interface TestMongrel2Options {
  /** @default [{ route: '/' }] */
  readonly handlers?: readonly TestHandlerSpec[];
  /** @default 'ipc' */
  readonly transport?: 'ipc' | 'tcp';
  /** limits.content_length; larger bodies take the async upload path. @default 20480 */
  readonly contentLength?: number;
  /**
   * Run Mongrel2 inside this network namespace (`ip netns exec NAME mongrel2 …`, root only). Its HTTP port is
   * then reachable only from inside that namespace; ipc handler sockets are files and reachable from anywhere.
   */
  readonly netns?: string;
}

/** Endpoints of one handler, as a worker connects to them. */
export interface TestHandlerEndpoints {
  readonly route: string;
  readonly sendSpec: string;
  readonly recvSpec: string;
  readonly sendIdent: string;
}

/** A running test Mongrel2. */
export interface TestMongrel2 {
  readonly port: number;
  readonly baseUrl: string;
  readonly dir: string;
  readonly uploadDir: string;
  readonly handlers: readonly TestHandlerEndpoints[];
  /** The current Mongrel2 process (a new one after `restart`). */
  readonly process: Mongrel2Process;
  /** Stop Mongrel2 and start it again with the same config, port and sockets; resolves once it listens. */
  restart(): Promise<void>;
  /** Stop Mongrel2 but keep its config and temp dir, for {@link resume}. */
  halt(): Promise<void>;
  /** Start a halted Mongrel2 again with the same config, port and sockets; resolves once it listens. */
  resume(): Promise<void>;
  /** Worker flags for handler `i`: --send-spec/--recv-spec. */
  workerArgs(i?: number): string[];
  /** Stop Mongrel2 (SIGINT, then SIGKILL after a deadline) and remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);

/** True once something listens on TCP `port` inside network namespace `netns` (`ss`, from iproute2 like `ip`). */
async function listensIn(netns: string, port: number): Promise<boolean> {
  const { stdout } = await execFileAsync('ip', ['netns', 'exec', netns, 'ss', '-Hltn', `sport = :${port}`]);
  return stdout.trim() !== '';
}

/** `startMongrel2` for a Mongrel2 inside `netns`: `ip netns exec` execs mongrel2 in place (same pid, same signals). */
async function startMongrel2InNetns(netns: string, configPath: string, runDir: string): Promise<Mongrel2Process> {
  await prepareRunDir(runDir);
  const [server] = await loadConfig(configPath, runDir);
  if (server === undefined) throw new Error(`no server in ${configPath}`);
  const child = spawn('ip', ['netns', 'exec', netns, 'mongrel2', 'config.sqlite', server.uuid], { cwd: runDir, stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return { child, server, runDir };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Start a Mongrel2 for one test; register `stop` with `t.after`. */
export async function startTestMongrel2(options: TestMongrel2Options = {}): Promise<TestMongrel2> {
  const handlerSpecs = options.handlers ?? [{ route: '/' }];
  const transport = options.transport ?? 'ipc';
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-'));
  const ports = await freePorts(1 + (transport === 'tcp' ? handlerSpecs.length * 2 : 0));
  const port = ports[0] ?? 0;
  const handlers: TestHandlerEndpoints[] = handlerSpecs.map((h, i) => ({
    route: h.route,
    sendIdent: randomUUID(),
    sendSpec: transport === 'ipc' ? `ipc://${dir}/run/req${i}` : `tcp://127.0.0.1:${ports[1 + 2 * i]}`,
    recvSpec: transport === 'ipc' ? `ipc://${dir}/run/rep${i}` : `tcp://127.0.0.1:${ports[2 + 2 * i]}`,
  }));
  const handlerDefs = handlers
    .map((h, i) => `h${i} = Handler(send_spec='${h.sendSpec}', send_ident='${h.sendIdent}', recv_spec='${h.recvSpec}', recv_ident=''${handlerSpecs[i]?.protocol === 'json' ? '' : ", protocol='tnetstring'"})`)
    .join('\n');
  const routes = handlers.map((h, i) => `'${h.route}': h${i}`).join(', ');
  const config = `${handlerDefs}
main = Server(uuid="${randomUUID()}", name="main", chroot="", access_log="logs/access.log", error_log="logs/error.log",
  pid_file="run/mongrel2.pid", control_port="ipc://run/control", default_host="localhost", bind_addr="127.0.0.1", port=${port},
  hosts=[Host(name="localhost", routes={${routes}})])
settings = {"zeromq.threads": 1, "server.daemonize": 0, "limits.content_length": ${options.contentLength ?? 20480},
  "upload.temp_store": "${dir}/tmp/upload.XXXXXX", "limits.min_ping": 0, "limits.min_write_rate": 0, "limits.min_read_rate": 0}
servers = [main]
`;
  const configPath = path.join(dir, 'test.conf');
  await writeFile(configPath, config);
  const netns = options.netns;
  const launch = (): Promise<Mongrel2Process> =>
    netns === undefined ? startMongrel2({ configPath, runDir: dir, stdio: 'ignore' }) : startMongrel2InNetns(netns, configPath, dir);
  const listening = (): Promise<boolean> => (netns === undefined ? canConnect(port) : listensIn(netns, port));
  let proc = await launch();
  const stopProcess = async (): Promise<void> => {
    const child = proc.child;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const whenListening = async (): Promise<void> => {
    await waitFor(() => proc.child.exitCode === null && listening(), { timeoutMs: 15_000, what: `mongrel2 listening on ${port}${netns === undefined ? '' : ` in ${netns}`}` });
  };
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await stopProcess();
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    await whenListening();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    dir,
    uploadDir: path.join(dir, 'tmp'),
    handlers,
    get process() {
      return proc;
    },
    restart: async () => {
      await stopProcess();
      proc = await launch();
      await whenListening();
    },
    halt: () => stopProcess(),
    resume: async () => {
      proc = await startMongrel2({ configPath, runDir: dir, stdio: 'ignore' });
      await whenListening();
    },
    workerArgs: (i = 0) => {
      const h = handlers[i];
      if (h === undefined) throw new Error(`no handler ${i}`);
      return ['--send-spec', h.sendSpec, '--recv-spec', h.recvSpec];
    },
    stop,
  };
}

export { isAlive };
