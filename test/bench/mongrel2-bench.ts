/**
 * The benchmark's Mongrel2: one server per scenario in a fresh directory, on a free port of 127.0.0.1, in its
 * own process group. Variants are told apart by the Host header: every handler variant gets a Host whose route
 * '/' goes to its own Handler (protocol='tnetstring' unless told 'json', ipc endpoints in the run directory); the Host `static`
 * serves files with `Dir(base='static/', index_file='index.html', default_ctype='text/plain')` under
 * '/static/' — the ceiling, Mongrel2 answering by itself.
 * Settings: foreground (`server.daemonize: 0`), no chroot, the idle reaper off (`limits.min_ping`,
 * `limits.min_write_rate`, `limits.min_read_rate` all 0) and no access log (the same for every variant).
 * (test/helpers/mongrel2.ts has no Dir route or hosts, hence this builder.)
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { loadConfig, prepareRunDir } from '../../src/mongrel2/launcher';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait-for';
import { spawnGroup, type BenchProcess } from './procs';

/** The Host serving static files. */
export const STATIC_HOST = 'static';

/** One handler's endpoints, as a worker connects to them. */
export interface BenchHandler {
  readonly host: string;
  readonly sendSpec: string;
  readonly recvSpec: string;
  readonly sendIdent: string;
}

/** A running benchmark Mongrel2. */
export interface BenchMongrel2 {
  readonly port: number;
  readonly baseUrl: string;
  readonly dir: string;
  readonly proc: BenchProcess;
  readonly version: string;
  handler(host: string): BenchHandler;
  /** SIGINT (graceful), SIGKILL after 5 s. Idempotent. The directory stays (the caller removes the tree). */
  stop(): Promise<void>;
}

/** Options of {@link startBenchMongrel2}. */
export interface BenchMongrel2Options {
  readonly dir: string;
  /** One Handler + Host per entry. */
  readonly hosts: readonly string[];
  /** Files under static/: name → content. */
  readonly staticFiles: Readonly<Record<string, Buffer>>;
  /** Header encoding of every handler. @default 'tnetstring' */
  readonly protocol?: 'tnetstring' | 'json';
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

/** Write the config, `m2sh load` it, start `mongrel2` and wait until it accepts connections. */
export async function startBenchMongrel2(options: BenchMongrel2Options): Promise<BenchMongrel2> {
  const dir = options.dir;
  await prepareRunDir(dir);
  await mkdir(path.join(dir, 'static'), { recursive: true });
  await Promise.all(Object.entries(options.staticFiles).map(([name, content]) => writeFile(path.join(dir, 'static', name), content)));
  const port = await freePort();
  const handlers = options.hosts.map((host, i): BenchHandler => ({
    host,
    sendIdent: randomUUID(),
    sendSpec: `ipc://${dir}/run/req${i}`,
    recvSpec: `ipc://${dir}/run/rep${i}`,
  }));
  const config = `${handlers.map((h, i) => `h${i} = Handler(send_spec='${h.sendSpec}', send_ident='${h.sendIdent}', recv_spec='${h.recvSpec}', recv_ident='', protocol='${options.protocol ?? 'tnetstring'}')`).join('\n')}
files = Dir(base='static/', index_file='index.html', default_ctype='text/plain')
main = Server(uuid="${randomUUID()}", name="main", chroot="", access_log="logs/access.log", error_log="logs/error.log",
  pid_file="run/mongrel2.pid", control_port="ipc://run/control", default_host="${STATIC_HOST}", bind_addr="127.0.0.1", port=${port},
  hosts=[${[...handlers.map((h, i) => `Host(name="${h.host}", routes={'/': h${i}})`), `Host(name="${STATIC_HOST}", routes={'/static/': files})`].join(',\n    ')}])
settings = {"zeromq.threads": 1, "server.daemonize": 0, "disable.access_logging": 1,
  "limits.min_ping": 0, "limits.min_write_rate": 0, "limits.min_read_rate": 0}
servers = [main]
`;
  const configPath = path.join(dir, 'bench.conf');
  await writeFile(configPath, config);
  const [server] = await loadConfig(configPath, dir);
  if (server === undefined) throw new Error('m2sh loaded no server');
  const proc = spawnGroup('mongrel2', 'mongrel2', ['config.sqlite', server.uuid], { cwd: dir, logFile: path.join(dir, 'mongrel2.out') });
  const stop = async (): Promise<void> => {
    await proc.stop(5_000, 'SIGINT');
  };
  try {
    await waitFor(async () => proc.running() && (await canConnect(port)), { timeoutMs: 15_000, what: `mongrel2 listening on ${port}` });
  } catch (err) {
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${proc.log().slice(-2000)}`);
  }
  const version = /Mongrel2\/[\d.]+/.exec(proc.log())?.[0] ?? 'Mongrel2';
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    dir,
    proc,
    version,
    handler(host) {
      const h = handlers.find((x) => x.host === host);
      if (h === undefined) throw new Error(`no handler for host ${host}`);
      return h;
    },
    stop,
  };
}
