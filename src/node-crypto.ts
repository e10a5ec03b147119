/**
 * `node:crypto`, loaded on first use. Loading it costs every process about 2.4 MiB of RSS; an idle worker whose
 * app never signs a cookie, opens a session or upgrades a WebSocket should not pay that (docs/performance.md,
 * idle memory). The module is required once and kept.
 * @module
 */
import type * as Crypto from 'node:crypto';

let loaded: typeof Crypto | undefined;

/** The `node:crypto` module, required the first time it is asked for. */
export function nodeCrypto(): typeof Crypto {
  return (loaded ??= require('node:crypto') as typeof Crypto);
}
