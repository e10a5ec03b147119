/**
 * Test helpers: the captured Mongrel2 wire messages in test/fixtures/vectors (see manifest.json) and a seeded PRNG.
 * Not a test file (no `.test.` in the name).
 * @module
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Directory of the captured vectors; tests run compiled from dist/test/unit/protocol/. */
export const VECTOR_DIR = path.resolve(__dirname, '../../../../test/fixtures/vectors');

/** send_ident of the JSON-protocol handler (server 1). */
export const SENDER_JSON = '34f9ceee-cd52-4b7f-b197-88bf2f0ec378';
/** send_ident of the tnetstring-protocol handler (server 1). */
export const SENDER_TNET = '53f9f1d1-1116-4751-b6ff-4fbe3e43d142';
/** send_ident of the flow-control server (server 2); its replies use recv_ident `rid-123`. */
export const SENDER_SRV2 = 'b0000000-0000-4000-8000-00000000000b';

/** One manifest entry. */
export interface ManifestEntry {
  readonly file: string;
  readonly bytes: number;
  readonly latin1: string;
}

/** Reads one vector's exact bytes. */
export function loadVector(file: string): Buffer {
  return readFileSync(path.join(VECTOR_DIR, file));
}

/** All `*.bin` files in the vector directory, sorted. */
export function vectorFiles(): string[] {
  return readdirSync(VECTOR_DIR)
    .filter((f) => f.endsWith('.bin'))
    .sort();
}

/** The manifest's entries. */
export function loadManifest(): ManifestEntry[] {
  const raw: unknown = JSON.parse(readFileSync(path.join(VECTOR_DIR, 'manifest.json'), 'utf8'));
  const vectors = (raw as { vectors?: unknown }).vectors;
  if (!Array.isArray(vectors)) throw new Error('manifest.json has no vectors array');
  return vectors as ManifestEntry[];
}

/** Deterministic PRNG (mulberry32) so that randomized tests are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds a tnetstring-protocol request message from parts (for edge-case tests). */
export function tnetMessage(sender: string, connId: number | string, reqPath: string, headers: Buffer, body: Buffer): Buffer {
  const h = Buffer.concat([Buffer.from(`${headers.length}:`), headers, Buffer.from('}')]);
  return Buffer.concat([Buffer.from(`${sender} ${connId} ${reqPath} `), h, Buffer.from(`${body.length}:`), body, Buffer.from(',')]);
}

/** Builds a JSON-protocol request message from raw JSON header bytes (which may be invalid JSON, as Mongrel2 sends). */
export function jsonMessage(sender: string, connId: number, reqPath: string, json: Buffer, body: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`${sender} ${connId} ${reqPath} ${json.length}:`),
    json,
    Buffer.from(`,${body.length}:`),
    body,
    Buffer.from(','),
  ]);
}
