/**
 * Variant (d) of the benchmark: the same app answered by plain `node:http`, no Mongrel2 and no ZeroMQ — for
 * readers who wonder what Mongrel2 costs. A node:cluster primary forks N workers sharing one listening socket;
 * the workers accept directly (`SCHED_NONE`): with Node's default round-robin the primary accepts every
 * connection and hands it to a worker over IPC, and a burst of 1000 connects then takes over a second
 * (p99 above 2 s, timeouts). Each worker loads the app module exactly as
 * `m2pool worker --app` does and serves it through the product's HTTP front (src/http-front, what `m2pool serve`
 * runs): the RawMessage Mongrel2 would have sent goes to `app.dispatch(msg, sink, …)`, and the sink writes the
 * app's own status, headers and body to the ServerResponse.
 * Usage: node http-server.js <app-module> <port> <workers>    (prints `http.ready <pid,pid,…>`)
 */
import cluster from 'node:cluster';
import { pino } from 'pino';
import { HttpFront } from '../../src/http-front/front';
import { loadApp } from '../../src/worker/app-loader';
import { WORKER_DEFAULTS } from '../../src/config/worker-config';

/** The worker runs with --log-level info and the request log off; nothing is logged per request here either. */
const silentLogger = pino({ level: 'silent' });

async function serve(appModule: string, port: number): Promise<void> {
  const front = new HttpFront({ app: await loadApp(appModule, process.cwd()), logger: silentLogger, maxBodyBytes: WORKER_DEFAULTS.maxUploadBytes });
  // Node's default backlog (511) overflows when wrk opens 1000 connections at once: SYN retries then add
  // seconds to the first requests. Mongrel2 listens with a larger one; the kernel caps it at somaxconn.
  await front.listen('127.0.0.1', port, 4096);
}

function main(): void {
  const [appModule, portText, workersText] = process.argv.slice(2);
  const port = Number(portText);
  const workers = Number(workersText ?? '1');
  if (appModule === undefined || !Number.isInteger(port) || !Number.isInteger(workers) || workers < 1) {
    process.stderr.write('usage: http-server <app-module> <port> <workers>\n');
    process.exit(2);
  }
  if (cluster.isPrimary) {
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const pids: number[] = [];
    let stopping = false;
    for (let i = 0; i < workers; i++) {
      const w = cluster.fork();
      w.once('listening', () => {
        pids.push(w.process.pid ?? 0);
        if (pids.length === workers) process.stdout.write(`http.ready ${pids.join(',')}\n`);
      });
      w.once('exit', (code, signal) => {
        if (stopping) return;
        process.stderr.write(`http worker ${w.process.pid} exited (${code ?? signal})\n`);
        process.exit(1);
      });
    }
    const stop = (): void => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      cluster.on('exit', () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      });
      setTimeout(() => process.exit(0), 3_000).unref();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  } else {
    process.on('SIGTERM', () => process.exit(0)); // a clean exit (lets a profiler write its profile)
    void serve(appModule, port);
  }
}

main();
