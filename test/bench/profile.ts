/**
 * Reads `.cpuprofile` files (V8's format, as `node --cpu-prof` writes them) and sums self time per function and per area
 * (m2pool folder, zeromq.js, pino, node internals, GC, …), so a run can say where a worker's CPU went.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** Self time of the profiled processes, summed. */
export interface ProfileSummary {
  readonly profiles: number;
  /** Requests the profiled processes served (warm-ups included), to express self time per request. */
  readonly requests: number;
  readonly sampledMs: number;
  /** Sampled time that was not `(idle)`. */
  readonly busyMs: number;
  /** Busy time per request, µs. */
  readonly busyUsPerRequest: number;
  readonly top: ReadonlyArray<{ readonly fn: string; readonly where: string; readonly selfMs: number; readonly pct: number; readonly usPerRequest: number }>;
  readonly byArea: ReadonlyArray<{ readonly area: string; readonly selfMs: number; readonly pct: number; readonly usPerRequest: number }>;
}

/** The area a function belongs to. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return '(program): V8 and native code outside JS frames';
    if (functionName === '(idle)') return '(idle)';
    return '(native builtins)';
  }
  let m = /\/dist\/(src\/[^/]+|examples\/[^/]+|test\/[^/]+)\//.exec(url);
  if (m !== null) return `m2pool ${m[1]}`;
  m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (m !== null) return `npm ${m[1]}`;
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    return `node:${parts.slice(0, parts[0] === 'internal' ? 2 : 1).join('/')}`;
  }
  return url;
}

function where(frame: CallFrame): string {
  if (frame.url === '') return '';
  const short = frame.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
  return `${short}:${frame.lineNumber + 1}`;
}

/** Sum the self time of every profile in `files`. */
export function summarizeProfiles(files: readonly string[], requests: number): ProfileSummary {
  const byFn = new Map<string, { fn: string; where: string; selfUs: number }>();
  const byArea = new Map<string, number>();
  let sampledUs = 0;
  let idleUs = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const nodes = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    // timeDeltas[i] is the time before sample i: attribute it to the sample taken at its end.
    for (let i = 0; i < samples.length; i++) {
      const frame = nodes.get(samples[i]!);
      const us = deltas[i] ?? 0;
      if (frame === undefined || us <= 0) continue;
      sampledUs += us;
      const area = areaOf(frame);
      if (area === '(idle)') {
        idleUs += us;
        continue;
      }
      byArea.set(area, (byArea.get(area) ?? 0) + us);
      const key = `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}`;
      const e = byFn.get(key) ?? { fn: frame.functionName || '(anonymous)', where: where(frame), selfUs: 0 };
      e.selfUs += us;
      byFn.set(key, e);
    }
  }
  const busyUs = sampledUs - idleUs;
  const pct = (us: number): number => (busyUs > 0 ? (100 * us) / busyUs : 0);
  const perReq = (us: number): number => (requests > 0 ? us / requests : Number.NaN);
  return {
    profiles: files.length,
    requests,
    sampledMs: sampledUs / 1000,
    busyMs: busyUs / 1000,
    busyUsPerRequest: perReq(busyUs),
    top: [...byFn.values()]
      .sort((a, b) => b.selfUs - a.selfUs)
      .slice(0, 40)
      .map((e) => ({ fn: e.fn, where: e.where, selfMs: e.selfUs / 1000, pct: pct(e.selfUs), usPerRequest: perReq(e.selfUs) })),
    byArea: [...byArea.entries()].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, selfMs: us / 1000, pct: pct(us), usPerRequest: perReq(us) })),
  };
}

/** `.cpuprofile` files in `dir` written by one of `pids` (named `CPU.<pid>.cpuprofile` by cpu-profile-preload.ts). */
export function profilesOf(dir: string, pids: readonly number[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.cpuprofile') && pids.includes(Number(/(\d+)\.cpuprofile$/.exec(n)?.[1]))).map((n) => path.join(dir, n));
}
