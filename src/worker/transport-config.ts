/**
 * Turns worker options into the transport configuration: direct (Mongrel2's sockets) or dispatch (the pool's
 * dispatcher, with CURVE keys read from their files for a tcp:// endpoint).
 * @module
 */
import { publicKeyOf, readKeyFile } from '../transport/curve-keys';
import type { TransportConfig } from '../transport/create-transport';
import type { WorkerOptions } from './options';

/** The transport `options` ask for; rejects with a ConfigError for unreadable or invalid key files. */
export async function transportConfig(options: WorkerOptions, slot: string | undefined, generation: string | undefined): Promise<TransportConfig> {
  const d = options.dispatcher;
  if (d === undefined) {
    return {
      topology: 'direct',
      sendSpecs: options.sendSpecs,
      recvSpecs: options.recvSpecs,
      receiveHighWaterMark: options.receiveHwm,
      sendTimeoutMs: options.sendTimeoutMs,
    };
  }
  let curve;
  if (d.curveServerKeyFile !== undefined && d.curveSecretFile !== undefined) {
    const secretKey = await readKeyFile(d.curveSecretFile, 'CURVE secret key');
    curve = { serverKey: await readKeyFile(d.curveServerKeyFile, 'dispatcher public key'), secretKey, publicKey: publicKeyOf(secretKey) };
  }
  return {
    topology: 'dispatch',
    endpoint: d.endpoint,
    capacity: options.maxInFlight,
    sendTimeoutMs: options.sendTimeoutMs,
    curve,
    slot: slot === undefined ? undefined : Number(slot),
    generation: generation === undefined ? undefined : Number(generation),
  };
}
