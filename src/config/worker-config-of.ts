/**
 * The complete {@link WorkerConfig} a pool's workers run with, derived from the pool configuration with
 * the workers' defaults filled in: what the supervisor hands each forked worker, and what any part of the
 * supervisor (readiness, the autoscaler's capacity per worker) may read instead of guessing the worker's defaults.
 * @module
 */
import { posix } from 'node:path';
import type { PoolConfig } from './schema';
import { DEFAULT_UPLOAD_BASENAME } from './upload-template';
import { forkedDispatcherBind } from './validate';
import { defaultIn, settingsOf } from './settings';
import type { WorkerConfig } from './worker-config';

const WORKER_SETTINGS = settingsOf('worker');

/** The endpoint the workers of a dispatch pool connect to: a remote dispatcher's, or the forked one's bind. */
export function workerDispatcherEndpoint(pool: PoolConfig): string {
  return pool.dispatcher ?? forkedDispatcherBind(pool);
}

/** How a worker reaches Mongrel2: its dispatcher (with CURVE files for tcp://), or Mongrel2's own sockets. */
function endpointsOf(pool: PoolConfig): Pick<WorkerConfig, 'sendSpecs' | 'recvSpecs' | 'dispatcher'> {
  if (pool.topology === 'direct') return { sendSpecs: pool.sendSpecs, recvSpecs: pool.recvSpecs };
  const endpoint = workerDispatcherEndpoint(pool);
  const curve = endpoint.startsWith('tcp://') && pool.curveServerKeyFile !== undefined
    ? { curveServerKeyFile: pool.curveServerKeyFile, ...(pool.curveSecretFile === undefined ? {} : { curveSecretFile: pool.curveSecretFile }) }
    : {};
  // The pool's `insecure` (validated: a tcp:// dispatcher needs keys or it) lets its workers talk plaintext too.
  const insecure = endpoint.startsWith('tcp://') && pool.curveServerKeyFile === undefined && pool.insecure ? { insecure: true } : {};
  return { sendSpecs: [], recvSpecs: [], dispatcher: { endpoint, ...curve, ...insecure } };
}

/**
 * The worker configuration of `pool`, frozen: each worker setting the pool has, else the worker's default
 * (`settings.ts`); `uploadDir` becomes its `DIR/upload.XXXXXX` template.
 */
export function workerConfigOf(pool: PoolConfig): WorkerConfig {
  const given = pool as Readonly<Record<string, unknown>>;
  const settings: Record<string, unknown> = {};
  for (const s of WORKER_SETTINGS) {
    const value = (s.pool === undefined ? undefined : given[s.key]) ?? (s.worker === 'optional' ? undefined : defaultIn(s, 'worker'));
    if (value !== undefined) settings[s.key] = value;
  }
  const uploadStore = pool.uploadStore ?? (pool.uploadDir === undefined ? undefined : posix.join(pool.uploadDir, DEFAULT_UPLOAD_BASENAME));
  return Object.freeze({ ...settings, app: pool.app, ...endpointsOf(pool), ...(uploadStore === undefined ? {} : { uploadStore }) } as WorkerConfig);
}
