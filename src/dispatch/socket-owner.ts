/**
 * Who listens on a socket, read from Linux's `/proc` without sending a byte: the listening Unix socket bound to a
 * path (`/proc/net/unix`) or the TCP listener on a port (`/proc/net/tcp`, `tcp6`), then the process holding that
 * socket's inode among its file descriptors (`/proc/PID/fd`). Best effort: on another OS, or for a process of
 * another user we may not inspect, the answer is "unknown". Used only on the refusal path, to name the process an
 * endpoint is taken by.
 * @module
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

/** Flag of a listening Unix socket in /proc/net/unix (`__SO_ACCEPTCON`). */
const SO_ACCEPTCON = 0x10000;
/** TCP state LISTEN in /proc/net/tcp. */
const TCP_LISTEN = '0A';

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}

/** Inodes of the listening Unix sockets bound to `path` (abstract names start with `@`, as /proc shows them). */
export async function unixListenerInodes(path: string): Promise<string[]> {
  const inodes: string[] = [];
  for (const line of (await readText('/proc/net/unix')).split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f.slice(7).join(' ') !== path) continue;
    if ((Number.parseInt(f[3] ?? '0', 16) & SO_ACCEPTCON) !== 0) inodes.push(f[6] ?? '');
  }
  return inodes;
}

/** Inodes of the TCP (v4 and v6) sockets listening on `port`, on any address. */
export async function tcpListenerInodes(port: number): Promise<string[]> {
  const inodes: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (await readText(table)).split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
      const f = line.trim().split(/\s+/);
      const local = f[1]?.split(':')[1];
      if (local !== undefined && Number.parseInt(local, 16) === port && f[3] === TCP_LISTEN) inodes.push(f[9] ?? '');
    }
  }
  return inodes.filter((i) => i !== '' && i !== '0');
}

/** The first process with one of `inodes` open, or undefined (none found, or not ours to inspect). */
export async function pidHoldingInode(inodes: readonly string[]): Promise<number | undefined> {
  if (inodes.length === 0) return undefined;
  const wanted = new Set(inodes.map((i) => `socket:[${i}]`));
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (wanted.has(target)) return Number(pid);
    }
  }
  return undefined;
}
