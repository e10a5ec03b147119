/**
 * What the kernel knows about a process: CPU time from /proc/<pid>/stat (utime + stime), resident memory from
 * /proc/<pid>/status (VmRSS), and machine-wide busy time from /proc/stat (to see load the bench did not cause).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`, 100 on Linux in practice). */
export function clkTck(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Fields of /proc/<pid>/stat after `pid (comm)`; index 0 is field 3 (state). */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) the process used so far; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  if (f === undefined) return 0;
  return (Number(f[11]) + Number(f[12])) / clkTck();
}

/** CPU seconds of this process's reaped children (cutime + cstime): wrk's CPU once it exited. */
export function reapedChildrenCpuSeconds(): number {
  const f = statFields('self');
  if (f === undefined) return 0;
  return (Number(f[13]) + Number(f[14])) / clkTck();
}

/** Resident set size in bytes (VmRSS), or 0 if the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

/** Anonymous resident memory in bytes (RssAnon: the process's own heap and stacks, shared code excluded), or 0. */
export function rssAnonBytes(pid: number): number {
  try {
    const m = /^RssAnon:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

/**
 * Machine-wide CPU seconds so far (all cores) from /proc/stat: `busy` = everything but idle and iowait;
 * `softirq` = the part spent in softirq (loopback TCP processing, charged to no process).
 */
export function machineCpu(): { readonly busy: number; readonly softirq: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - (v[3] ?? 0) - (v[4] ?? 0)) / clkTck(), softirq: (v[6] ?? 0) / clkTck() };
}

/** Machine-wide busy CPU seconds (see {@link machineCpu}). */
export function machineBusySeconds(): number {
  return machineCpu().busy;
}
