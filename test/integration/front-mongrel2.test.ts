/** The shared front suite (front.case.ts) against a real Mongrel2 with one `m2pool worker` behind it. */
import { startTestMongrel2 } from '../helpers/mongrel2';
import { HELLO_APP, startWorker } from '../helpers/processes';
import { frontSuite } from './front.case';

frontSuite('Mongrel2 front', async () => {
  const m2 = await startTestMongrel2();
  try {
    const worker = await startWorker(HELLO_APP, m2.workerArgs());
    return { port: m2.port, stop: async () => void (await Promise.all([worker.stop(), m2.stop()])) };
  } catch (err) {
    await m2.stop();
    throw err;
  }
});
