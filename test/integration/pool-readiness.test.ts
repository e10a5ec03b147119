/**
 * `/readyz` tells the truth: 503 with the reason in the body while Mongrel2 is stopped, 200
 * once it is back, in both topologies; `m2pool status` and `/pool` say why too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestMongrel2 } from '../helpers/mongrel2';
import { startPool } from '../helpers/pool';
import { waitFor } from '../helpers/wait-for';

for (const topology of ['dispatch', 'direct'] as const) {
  test(`${topology}: /readyz is 503 with a reason while Mongrel2 is stopped, 200 once it is back`, { timeout: 45_000 }, async (t) => {
    const m2 = await startTestMongrel2();
    t.after(() => m2.stop());
    const pool = await startPool(m2, ['--topology', topology, '--workers', '2', '--heartbeat-interval-ms', '100']);
    t.after(() => pool.stop());
    const readyz = (): Promise<{ status: number; body: Record<string, unknown> }> => pool.call('GET', '/readyz');
    await waitFor(async () => (await readyz()).status === 200, { what: '/readyz 200' });

    await m2.halt();
    const down = await waitFor(async () => {
      const r = await readyz();
      return r.status === 503 ? r : undefined;
    }, { timeoutMs: 10_000, what: '/readyz 503 with Mongrel2 stopped' });
    assert.match(String(down.body['reason']), /Mongrel2/, JSON.stringify(down.body));
    assert.equal(down.body['topology'], topology);
    const p = await pool.pool();
    assert.match(String(p.notReadyReason), /Mongrel2/);
    // The workers' link reports and the dispatcher's own heartbeat reach the supervisor separately: /readyz may
    // turn 503 on the first before the second arrives.
    if (topology === 'dispatch') await waitFor(async () => (await pool.pool()).dispatcher?.mongrel2Ready === 0, { what: 'the dispatcher reports 0 Mongrel2 ready' });

    await m2.resume();
    await waitFor(async () => (await readyz()).status === 200, { timeoutMs: 15_000, what: '/readyz 200 with Mongrel2 back' });
  });
}
