/** The standard-app suite (adapters.case.ts) through `m2pool serve` (node:http, no Mongrel2). */
import { startServe } from '../helpers/serve';
import { adapterSuite, TEST_REQUEST_TIMEOUT_MS } from './adapters.case';

adapterSuite('m2pool serve', async (app) => {
  const served = await startServe(app, ['--request-timeout-ms', String(TEST_REQUEST_TIMEOUT_MS)]);
  return { port: served.port, stop: async () => void (await served.proc.stop()) };
});
