/** The standard-app suite (adapters.case.ts) through a real Mongrel2 with one `m2pool worker` straight on it (direct). */
import { startTestMongrel2 } from '../helpers/mongrel2';
import { startWorker } from '../helpers/processes';
import { adapterSuite, TEST_REQUEST_TIMEOUT_MS } from './adapters.case';

adapterSuite('Mongrel2, direct worker', async (app) => {
  const m2 = await startTestMongrel2();
  try {
    const worker = await startWorker(app, m2.workerArgs(), ['--request-timeout-ms', String(TEST_REQUEST_TIMEOUT_MS), '--upload-dir', m2.uploadDir]);
    return { port: m2.port, stop: async () => void (await Promise.all([worker.stop(), m2.stop()])) };
  } catch (err) {
    await m2.stop();
    throw err;
  }
});
