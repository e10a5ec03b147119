/**
 * Whether the pool's workers reach a Mongrel2, for `/readyz`. A
 * worker's heartbeat reports how many of its links are ready: in the direct topology its Mongrel2 links, in the
 * dispatch topology its link to the dispatcher, which is ready only while the dispatcher has its Mongrel2. A
 * worker that has not sent a heartbeat since ready counts as connected (it reports ready only once connected).
 * @module
 */
import type { PoolConfig } from '../../config/schema';
import type { WorkerHandle } from './worker-handle';

/** Undefined when some ready worker reaches Mongrel2, else why not. */
export function mongrel2Readiness(c: Pick<PoolConfig, 'topology' | 'dispatcher'>, workers: Iterable<WorkerHandle>): string | undefined {
  let ready = 0;
  for (const w of workers) {
    if (!w.live || w.state !== 'ready') continue;
    ready += 1;
    if (w.linksReady === null || w.linksReady > 0) return undefined;
  }
  if (ready === 0) return undefined; // minReady 0 with nothing ready: the count check already decided
  if (c.topology === 'direct') return `no ready worker has a Mongrel2 connected (${ready} ready workers report their links down)`;
  return `no ready worker reaches a dispatcher with Mongrel2${c.dispatcher === undefined ? '' : ` (${c.dispatcher})`}`;
}
