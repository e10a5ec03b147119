/**
 * Whether the pool can take requests, for `/readyz`: running, `minReady` workers ready, its dispatcher up, and
 * its workers reaching a Mongrel2. A
 * worker's heartbeat reports how many of its links are ready: in the direct topology its Mongrel2 links, in the
 * dispatch topology its link to the dispatcher, which is ready only while the dispatcher has its Mongrel2. A
 * worker that has not sent a heartbeat since ready counts as connected (it reports ready only once connected).
 * @module
 */
import type { PoolConfig } from '../../config/schema';
import type { PoolState } from '../arbiter/pool-state';
import type { WorkerHandle } from '../arbiter/worker-handle';

/**
 * Why the pool cannot take requests: not running, too few ready workers, its dispatcher down or without Mongrel2
 * (`dispatcher`, asked only once the workers are fine), no Mongrel2 link; undefined when it can.
 */
export function poolNotReadyReason(c: Pick<PoolConfig, 'topology' | 'dispatcher' | 'minReady'>, st: PoolState, dispatcher: () => string | undefined): string | undefined {
  if (st.phase !== 'running') return `the pool is ${st.phase}`;
  const ready = st.readyCount();
  if (ready < c.minReady) return `${ready} ready workers, ${c.minReady} needed (minReady)`;
  return dispatcher() ?? mongrel2Readiness(c, st.workers);
}

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
