/** The shared front suite (front.case.ts) against `m2pool serve` (node:http, no Mongrel2). */
import { startServe } from '../helpers/serve';
import { HELLO_APP } from '../helpers/processes';
import { frontSuite } from './front.case';

frontSuite('HTTP front (m2pool serve)', async () => {
  const served = await startServe(HELLO_APP);
  return { port: served.port, stop: async () => void (await served.proc.stop()) };
});
