/**
 * Turns a worker configuration into the transport configuration: direct (Mongrel2's sockets) or dispatch (the pool's
 * dispatcher, with CURVE keys read from their files for a tcp:// endpoint).
 * @module
 */
import { publicKeyOf, readKeyFile } from '../transport/curve-keys';
import type { TransportConfig } from '../transport/create-transport';
import { dispatcherBatchBytes, requestBytesOf } from '../config/message-limits';
import { dispatcherEndpointProblem, type WorkerConfig } from '../config/worker-config';
import { ConfigError } from '../errors';

/** The transport `config` asks for; rejects with a ConfigError for unreadable or invalid key files, or a tcp:// dispatcher without keys nor `insecure`. */
export async function transportConfig(config: WorkerConfig, slot: string | undefined, generation: string | undefined): Promise<TransportConfig> {
  const d = config.dispatcher;
  if (d === undefined) {
    return {
      topology: 'direct',
      sendSpecs: config.sendSpecs,
      recvSpecs: config.recvSpecs,
      receiveHighWaterMark: config.receiveHwm,
      sendTimeoutMs: config.sendTimeoutMs,
      maxMessageBytes: requestBytesOf(config),
    };
  }
  // Flags and the handed-over configuration were checked already; this guards a config built in code (runWorker).
  const unsafe = dispatcherEndpointProblem(d, false);
  if (unsafe !== undefined) throw new ConfigError([`dispatcher: ${unsafe}`]);
  let curve;
  if (d.curveServerKeyFile !== undefined && d.curveSecretFile !== undefined) {
    const secretKey = await readKeyFile(d.curveSecretFile, 'CURVE secret key');
    curve = { serverKey: await readKeyFile(d.curveServerKeyFile, 'dispatcher public key'), secretKey, publicKey: publicKeyOf(secretKey) };
  }
  return {
    topology: 'dispatch',
    endpoint: d.endpoint,
    capacity: config.maxInFlight,
    sendTimeoutMs: config.sendTimeoutMs,
    // A batch from the dispatcher holds at most our credit in requests.
    maxMessageBytes: dispatcherBatchBytes(config.maxInFlight, requestBytesOf(config)),
    curve,
    slot: slot === undefined ? undefined : Number(slot),
    generation: generation === undefined ? undefined : Number(generation),
  };
}
