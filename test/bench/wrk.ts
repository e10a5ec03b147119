/**
 * Drives wrk (Debian's /usr/bin/wrk, the HTTP load generator) with a generated Lua script whose `done` hook
 * prints the summary as one JSON line: requests, bytes, socket errors, status errors (HTTP status ≥ 400),
 * timeouts, and latency percentiles in microseconds (wrk's histogram; `--latency` is passed as well).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnGroup } from './procs';
import { reapedChildrenCpuSeconds } from './procstat';

/** What wrk requests: one path, or a weighted mix (weights sum to 1). */
export type Load = { readonly path: string } | { readonly mix: ReadonlyArray<{ readonly path: string; readonly weight: number }> };

/** One wrk invocation. */
export interface WrkRun {
  /** e.g. http://127.0.0.1:8080 */
  readonly baseUrl: string;
  /** Host header (Mongrel2 routes variants by host). */
  readonly host?: string | undefined;
  /** Extra request headers (`Name: value`), e.g. `Connection: close` for one request per connection. */
  readonly headers?: readonly string[] | undefined;
  readonly load: Load;
  readonly connections: number;
  readonly threads: number;
  readonly durationS: number;
  readonly timeoutS: number;
  /** Directory for the script and wrk's output. */
  readonly workDir: string;
  readonly tag: string;
}

/** wrk's numbers for one run. */
export interface WrkResult {
  readonly requests: number;
  readonly durationS: number;
  readonly rps: number;
  readonly bytes: number;
  readonly latencyUs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly p999: number; readonly max: number; readonly mean: number };
  readonly errors: { readonly connect: number; readonly read: number; readonly write: number; readonly status: number; readonly timeout: number; readonly total: number };
  /** CPU seconds wrk itself used (from this process's reaped-children counters). */
  readonly wrkCpuS: number;
}

/** The install hint printed when wrk is missing. */
export const WRK_HINT = 'wrk (the HTTP load generator) is not installed: apt-get install wrk';

/** wrk's version line, or undefined when wrk cannot be run. */
export function wrkVersion(): string | undefined {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined) return undefined;
  return `${r.stdout}${r.stderr}`.split('\n')[0]?.trim();
}

function luaString(s: string): string {
  return JSON.stringify(s); // a JSON string of printable ASCII is a valid Lua string literal
}

function script(load: Load): string {
  const lines: string[] = [];
  if ('mix' in load) {
    // Requests are formatted once per thread in init; request() only picks one (cheap for wrk).
    lines.push(
      `local paths = {${load.mix.map((m) => luaString(m.path)).join(', ')}}`,
      `local cumulative = {${load.mix.reduce<number[]>((acc, m) => [...acc, (acc.at(-1) ?? 0) + m.weight], []).join(', ')}}`,
      'local reqs = {}',
      'function init(args)',
      '  local addr = tostring({}):match("0x(%x+)")',
      '  math.randomseed(os.time() + (addr and tonumber(addr, 16) % 1000003 or 0))',
      '  for i, p in ipairs(paths) do reqs[i] = wrk.format("GET", p) end',
      'end',
      'function request()',
      '  local r = math.random()',
      '  for i, c in ipairs(cumulative) do if r < c then return reqs[i] end end',
      '  return reqs[#reqs]',
      'end',
    );
  }
  lines.push(
    'function done(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format(\'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}\\n\',',
    '    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,',
    '    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))',
    'end',
  );
  return `${lines.join('\n')}\n`;
}

interface DoneJson {
  requests: number;
  duration_us: number;
  bytes: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Run wrk once and parse its summary. */
export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const scriptFile = path.join(run.workDir, `${run.tag}.lua`);
  writeFileSync(scriptFile, script(run.load));
  const url = `${run.baseUrl}${'path' in run.load ? run.load.path : '/'}`;
  const args = [
    '-t', String(Math.min(run.threads, run.connections)),
    '-c', String(run.connections),
    '-d', `${run.durationS}s`,
    '--timeout', `${run.timeoutS}s`,
    '--latency',
    '-s', scriptFile,
    ...(run.host === undefined ? [] : ['-H', `Host: ${run.host}`]),
    ...(run.headers ?? []).flatMap((h) => ['-H', h]),
    url,
  ];
  const cpuBefore = reapedChildrenCpuSeconds();
  const proc = spawnGroup(`wrk ${run.tag}`, 'wrk', args, { cwd: run.workDir, logFile: path.join(run.workDir, `${run.tag}.wrk.log`) });
  const deadline = setTimeout(() => void proc.stop(1_000, 'SIGKILL'), (run.durationS + run.timeoutS + 30) * 1_000);
  const [code, signal] = await proc.exited;
  clearTimeout(deadline);
  await proc.stop(0);
  const wrkCpuS = reapedChildrenCpuSeconds() - cpuBefore;
  const out = proc.log();
  const line = out.split('\n').find((l) => l.startsWith('BENCHJSON '));
  if (code !== 0 || line === undefined) throw new Error(`wrk failed (${code ?? signal}): wrk ${args.join(' ')}\n${out.slice(-2000)}`);
  const j = JSON.parse(line.slice('BENCHJSON '.length)) as DoneJson;
  const durationS = j.duration_us / 1e6;
  const socket = j.connect + j.read + j.write;
  return {
    requests: j.requests,
    durationS,
    rps: j.requests / durationS,
    bytes: j.bytes,
    latencyUs: { p50: j.p50, p90: j.p90, p99: j.p99, p999: j.p999, max: j.max, mean: j.mean },
    errors: { connect: j.connect, read: j.read, write: j.write, status: j.status, timeout: j.timeout, total: socket + j.status + j.timeout },
    wrkCpuS,
  };
}
