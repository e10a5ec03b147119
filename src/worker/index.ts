/**
 * `m2pool/worker`: the worker runtime for embedding (the CLI's `m2pool worker` uses it). Loads zeromq's native
 * addon, which is why the framework entry (`m2pool`) does not re-export it.
 * @module
 */
export { runWorker } from './main';
export type { WorkerOptions } from './options';
export type { DispatcherEndpoint, WorkerConfig } from '../config/worker-config';
export { WORKER_DEFAULTS } from '../config/worker-config';
