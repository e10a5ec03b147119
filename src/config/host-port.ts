/**
 * `HOST:PORT` parsing shared by the config validator, the admin server and the admin CLI commands.
 * @module
 */
import { isIP } from 'node:net';

/** A parsed `HOST:PORT`; `host` has no IPv6 brackets. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parse `HOST:PORT` (`[::1]:9890` for IPv6). Returns the problem as a string instead of throwing so callers can
 * collect it with others.
 */
export function parseHostPort(text: string): HostPort | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return `expected HOST:PORT (IPv6 as [addr]:PORT), got ${JSON.stringify(text)}`;
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (m[1] !== undefined && isIP(host) !== 6) return `${JSON.stringify(host)} is not an IPv6 address`;
  if (m[2] !== undefined && isIP(host) === 0 && !HOSTNAME.test(host)) return `${JSON.stringify(host)} is not a host name or IP address`;
  if (port > 65535) return `port ${port} is above 65535`;
  return { host, port };
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Address a client should dial to reach a server bound to `host` (a wildcard bind is reached over loopback). */
export function dialHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** Format for URLs and messages: brackets around IPv6. */
export function formatHostPort(hp: HostPort): string {
  return isIP(hp.host) === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
