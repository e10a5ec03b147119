/**
 * The keep-alive GET load of {@link startLoad} as a process of its own, so a test can run it where the test
 * process cannot reach, e.g. inside a network namespace:
 *
 *     ip netns exec NS node dist/test/helpers/load-agent.js '{"port":6767,"clients":24,"maxMs":25000}'
 *
 * Every client sends `GET /echo/c<client>-<n>` and checks the body. Bounded: it stops by itself after `maxMs` or
 * `maxRequests` (so it never outlives its test by long), or at SIGTERM/SIGINT. Writes JSON lines on stdout:
 * `{"event":"load.progress","completed":N}` every `progressEvery` completed requests, and at the end
 * `{"event":"load.done","stoppedBy","completed","answered","failed","problems"}` where `answered` counts the
 * 200s with the right body and `failed` everything else (wrong body, another status, 503, timeout, cut
 * connection); `problems` holds the first few failures.
 */
import { startLoad, type LoadResult } from './load';

/** What the agent is told on its command line (one JSON argument). */
export interface LoadAgentOptions {
  readonly port: number;
  readonly clients: number;
  /** Hard bound on the run time. */
  readonly maxMs: number;
  /** Hard bound on the number of requests. @default 1000000 */
  readonly maxRequests?: number;
  /** @default 100 */
  readonly progressEvery?: number;
  /** A request without its full response after this long counts as unanswered. @default 5000 */
  readonly timeoutMs?: number;
}

/** The last line the agent writes. */
export interface LoadAgentSummary {
  readonly event: 'load.done';
  readonly stoppedBy: 'signal' | 'time' | 'count';
  readonly completed: number;
  readonly answered: number;
  readonly failed: number;
  readonly problems: ReadonlyArray<Pick<LoadResult, 'client' | 'seq' | 'status' | 'problem'>>;
}

function parseOptions(arg: string | undefined): LoadAgentOptions {
  const parsed = JSON.parse(arg ?? '') as Partial<LoadAgentOptions>;
  for (const key of ['port', 'clients', 'maxMs'] as const) {
    if (typeof parsed[key] !== 'number') throw new Error(`load-agent: option ${key} must be a number`);
  }
  return parsed as LoadAgentOptions;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv[2]);
  const every = options.progressEvery ?? 100;
  const maxRequests = options.maxRequests ?? 1_000_000;
  const write = (line: object): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
  const load = startLoad({
    port: options.port,
    clients: options.clients,
    timeoutMs: options.timeoutMs ?? 5_000,
    request: (c, n) => ({ path: `/echo/c${c}-${n}` }),
    expectedBody: (c, n) => `/echo/c${c}-${n}`,
  });
  let stoppedBy: LoadAgentSummary['stoppedBy'] | undefined;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const stop = (by: LoadAgentSummary['stoppedBy']): void => {
    stoppedBy ??= by;
    wake();
  };
  const timer = setTimeout(() => stop('time'), options.maxMs);
  process.once('SIGTERM', () => stop('signal'));
  process.once('SIGINT', () => stop('signal'));
  void load.reached(maxRequests).then(() => stop('count'));
  for (let next = every; ; next += every) {
    await Promise.race([load.reached(next), stopped]);
    if (stoppedBy !== undefined) break;
    write({ event: 'load.progress', completed: load.results.length });
  }
  clearTimeout(timer);
  const results = await load.stop();
  const failures = results.filter((r) => r.problem !== undefined || r.status !== 200);
  const summary: LoadAgentSummary = {
    event: 'load.done',
    stoppedBy: stoppedBy ?? 'signal',
    completed: results.length,
    answered: results.length - failures.length,
    failed: failures.length,
    problems: failures.slice(0, 5).map(({ client, seq, status, problem }) => ({ client, seq, status, problem })),
  };
  write(summary);
}

main().catch((err: unknown) => {
  process.stderr.write(`load-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
