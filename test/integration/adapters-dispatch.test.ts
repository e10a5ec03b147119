/** The standard-app suite (adapters.case.ts) through a real Mongrel2 and a dispatch-topology pool (`m2pool start`). */
import { startTestMongrel2 } from '../helpers/mongrel2';
import { startCliPool } from '../helpers/pool';
import { adapterSuite, TEST_REQUEST_TIMEOUT_MS } from './adapters.case';

adapterSuite('Mongrel2, dispatch pool', async (app) => {
  const m2 = await startTestMongrel2();
  try {
    const pool = await startCliPool(m2, ['--workers', '1', '--request-timeout-ms', String(TEST_REQUEST_TIMEOUT_MS), '--upload-dir', m2.uploadDir], app);
    return { port: m2.port, stop: async () => void (await Promise.all([pool.stop(), m2.stop()])) };
  } catch (err) {
    await m2.stop();
    throw err;
  }
});
