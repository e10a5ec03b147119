/**
 * Issue 11, finding 8: `kill -9` of the supervisor under pm2 (the real ecosystem.config.js). pm2 restarts it; the
 * restarted pool is whole again with nothing carried over (no restarts counted, no breaker, no backoff: the
 * supervisor keeps no state on disk), and the old workers have gone (they exit when their supervisor dies).
 * The outage figures are printed as diagnostics; `node dist/test/bench/supervisor-loss.js` measures rounds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { killSupervisor, startEcosystem } from '../helpers/pm2';
import { waitForExit } from '../helpers/processes';
import { waitFor } from '../helpers/wait-for';

test('pm2 brings a kill -9ed supervisor back with a fresh pool: no restarts, no breaker, old workers gone', { timeout: 60_000 }, async (t) => {
  const eco = await startEcosystem();
  t.after(() => eco.stop());
  const before = await waitFor(async () => {
    const p = await eco.pool();
    return p.ready === 2 ? p : undefined;
  }, { what: '2 ready workers', timeoutMs: 20_000 });
  const loss = await killSupervisor(eco, (probe, what) => waitFor(probe, { what, timeoutMs: 30_000, intervalMs: 20 }));
  t.diagnostic(`supervisor kill -9: /readyz 200 after ${loss.readyAfterMs} ms, requests answered after ${loss.answeredAfterMs} ms`);
  const after = await waitFor(async () => {
    const p = await eco.pool();
    return p.ready === 2 ? p : undefined;
  }, { what: 'the restarted pool to be whole', timeoutMs: 20_000 });
  assert.notEqual(after.pid, before.pid);
  assert.deepEqual(after.workers.map((w) => w.restarts), [0, 0], 'a fresh supervisor counts no restarts');
  assert.deepEqual(after.breaker, [], 'no breaker or backoff carried over');
  await waitForExit(before.workers.map((w) => w.pid), 10_000);
});
