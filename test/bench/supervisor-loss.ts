/**
 * Measures the outage when the supervisor is `kill -9`ed under pm2 (issue 11, finding 8): pm2 restarts it, the
 * old workers exit on their own, the new supervisor forks a fresh pool. Per round: time from the kill until
 * `/readyz` of the new supervisor is 200, and until a request through Mongrel2 is answered again.
 *
 *   npm run build && node dist/test/bench/supervisor-loss.js [--rounds 3]
 *
 * Setup: the real ecosystem.config.js (Mongrel2 + the supervisor with 2 workers of `examples/hello`) on a pm2
 * daemon of its own, requests polled every 20 ms.
 * @module
 */
import { parseArgs } from 'node:util';
import { killSupervisor, startEcosystem, type SupervisorLoss } from '../helpers/pm2';
import { waitFor } from '../helpers/wait-for';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
  const eco = await startEcosystem();
  const rounds: SupervisorLoss[] = [];
  try {
    for (let r = 0; r < Number(values.rounds); r += 1) {
      await waitFor(async () => ((await eco.pool()).ready === 2 ? true : undefined), { what: '2 ready workers', timeoutMs: 30_000 });
      // pm2 counts a restart within min_uptime (1 s) as unstable: let the pool run a little between kills.
      const settle = Date.now() + 3_000;
      await waitFor(() => Date.now() > settle, { intervalMs: 100, timeoutMs: 5_000 });
      rounds.push(await killSupervisor(eco, (probe, what) => waitFor(probe, { what, timeoutMs: 60_000, intervalMs: 20 })));
    }
  } finally {
    await eco.stop();
  }
  process.stdout.write(`${JSON.stringify(rounds.map(({ readyAfterMs, answeredAfterMs }) => ({ readyAfterMs, answeredAfterMs })))}\n`);
  process.stdout.write(
    `supervisor kill -9 under pm2: /readyz 200 again after ${rounds.map((r) => r.readyAfterMs).join(', ')} ms; ` +
      `requests answered again after ${rounds.map((r) => r.answeredAfterMs).join(', ')} ms\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
