/**
 * The machine's CPU use between two reads, from `os.cpus()` times (all cores together): the autoscaler's guard
 * against adding workers to saturated CPUs (docs/runbook.md "Autoscaling").
 * @module
 */
import { cpus, type CpuInfo } from 'node:os';

/** Busy and total CPU milliseconds over every core. */
function totals(list: readonly CpuInfo[]): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of list) {
    const t = c.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return { busy, total };
}

/** A meter: each call returns the CPU use (0..1) since the previous call; undefined on the first or when unknown. */
export function cpuMeter(read: () => readonly CpuInfo[] = cpus): () => number | undefined {
  let last: { busy: number; total: number } | undefined;
  return () => {
    const now = totals(read());
    const prev = last;
    last = now;
    if (prev === undefined) return undefined;
    const total = now.total - prev.total;
    return total > 0 ? Math.min(1, Math.max(0, (now.busy - prev.busy) / total)) : undefined;
  };
}
