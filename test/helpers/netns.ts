/**
 * Simulated hosts for a test, made of Linux network namespaces (root only): one namespace per host, each with `lo`
 * up and a veth pair to a bridge in a namespace of its own (the LAN), addresses of one private /24 assigned inside
 * the namespaces. Everything is created with `ip -n` / `peer … netns`, so the root namespace's interfaces, routes
 * and sysctls are never touched; `remove` deletes the namespaces, which takes their veths and bridge with them.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** One simulated host. */
export interface SimulatedHost {
  /** The host's name in the test ('a', 'b', …). */
  readonly name: string;
  /** Its network namespace. */
  readonly netns: string;
  /** Its address on the LAN (inside its namespace only). */
  readonly address: string;
  /** Command prefix that runs a program on this host: `['ip', 'netns', 'exec', netns]` (execs in place). */
  readonly exec: readonly string[];
}

/** Hosts on one bridged LAN. */
export interface SimulatedLan {
  readonly hosts: readonly SimulatedHost[];
  /** Every namespace this LAN created (hosts and the bridge's). */
  readonly namespaces: readonly string[];
  /** Delete every namespace it created. Idempotent; stop the processes running in them first. */
  remove(): Promise<void>;
}

/** Options of {@link createLan}. */
export interface LanOptions {
  /** Prefix of the namespace names; unique per run. @default `m2p-<pid>` */
  readonly prefix?: string;
  /** First three octets of the LAN's /24; host i gets `.i+1`. @default '10.231.0' */
  readonly subnet?: string;
}

async function ip(args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('ip', args);
  } catch (err) {
    const stderr = (err as { stderr?: unknown }).stderr;
    throw new Error(`ip ${args.join(' ')}: ${typeof stderr === 'string' && stderr !== '' ? stderr.trim() : String(err)}`);
  }
}

/** Names of the network namespaces that exist now (`ip netns list`). */
export async function listNetns(): Promise<string[]> {
  const { stdout } = await execFileAsync('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

/** Why network namespaces cannot be made here (not root, no `ip`, `ip netns add` refused), or undefined if they can. */
export async function netnsUnavailable(prefix = `m2p-${process.pid}`): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add); this test runs as a normal user';
  const probe = `${prefix}-probe`;
  try {
    await ip(['netns', 'add', probe]);
  } catch (err) {
    return `cannot create a network namespace: ${err instanceof Error ? err.message : String(err)}`;
  }
  await ip(['netns', 'del', probe]);
  return undefined;
}

/** True when process `pid` runs in network namespace `netns` (same namespace inode). */
export async function runsInNetns(pid: number, netns: string): Promise<boolean> {
  const [own, named] = await Promise.all([stat(`/proc/${pid}/ns/net`), stat(`/run/netns/${netns}`)]);
  return own.ino === named.ino && own.dev === named.dev;
}

/**
 * Create hosts `names` on one bridged LAN. On failure, whatever was created is removed before the error is thrown.
 */
export async function createLan(names: readonly string[], options: LanOptions = {}): Promise<SimulatedLan> {
  const prefix = options.prefix ?? `m2p-${process.pid}`;
  const subnet = options.subnet ?? '10.231.0';
  const lanNs = `${prefix}-lan`;
  const created: string[] = [];
  let removing: Promise<void> | undefined;
  const remove = (): Promise<void> =>
    (removing ??= (async () => {
      const existing = new Set(await listNetns());
      const problems: string[] = [];
      for (const ns of created.filter((n) => existing.has(n)).reverse()) {
        await ip(['netns', 'del', ns]).catch((err: unknown) => problems.push(err instanceof Error ? err.message : String(err)));
      }
      if (problems.length > 0) throw new Error(`could not remove every namespace: ${problems.join('; ')}`);
    })());
  const hosts = names.map((name, i) => {
    const netns = `${prefix}-${name}`;
    return { name, netns, address: `${subnet}.${i + 1}`, exec: ['ip', 'netns', 'exec', netns] };
  });
  try {
    await ip(['netns', 'add', lanNs]);
    created.push(lanNs);
    await ip(['-n', lanNs, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', lanNs, 'link', 'set', 'dev', 'br0', 'up']);
    for (const host of hosts) {
      await ip(['netns', 'add', host.netns]);
      created.push(host.netns);
      const port = `port-${host.name}`;
      await ip(['-n', host.netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', lanNs]);
      await ip(['-n', lanNs, 'link', 'set', 'dev', port, 'master', 'br0', 'up']);
      await ip(['-n', host.netns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
      await ip(['-n', host.netns, 'link', 'set', 'dev', 'eth0', 'up']);
      await ip(['-n', host.netns, 'link', 'set', 'dev', 'lo', 'up']);
    }
  } catch (err) {
    await remove();
    throw err;
  }
  return { hosts, namespaces: [...created], remove };
}
