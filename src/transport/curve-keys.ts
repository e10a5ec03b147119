/**
 * CurveZMQ key files: `NAME.key` holds a secret key and `NAME.pub` its public key, each as 40 Z85 characters
 * (ZeroMQ's text form of a 32-byte Curve25519 key, RFC 32) and a newline. A public key can be derived from the
 * secret one: CurveZMQ keys are X25519 keys, which node:crypto computes.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors';

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_INDEX = new Map([...Z85].map((c, i) => [c, i]));
/** DER prefix of a PKCS#8 X25519 private key; the 32 key bytes follow. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** Z85 text of a 32-byte key. */
export function z85Encode(bytes: Buffer): string {
  if (bytes.length % 4 !== 0) throw new Error('Z85 needs a multiple of 4 bytes');
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let value = bytes.readUInt32BE(i);
    let chunk = '';
    for (let j = 0; j < 5; j++) {
      chunk = (Z85[value % 85] ?? '') + chunk;
      value = Math.floor(value / 85);
    }
    out += chunk;
  }
  return out;
}

/** Bytes of a Z85 text, or undefined if it is not valid Z85. */
export function z85Decode(text: string): Buffer | undefined {
  if (text.length % 5 !== 0) return undefined;
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const digit = Z85_INDEX.get(text[i + j] ?? '');
      if (digit === undefined) return undefined;
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) return undefined;
    out.writeUInt32BE(value, (i / 5) * 4);
  }
  return out;
}

/** Is `text` a 40-character Z85 key? */
export function isZ85Key(text: string): boolean {
  return text.length === 40 && z85Decode(text)?.length === 32;
}

/** The public key (Z85) of a secret key (Z85). */
export function publicKeyOf(secretKey: string): string {
  const secret = z85Decode(secretKey);
  if (secret === undefined || secret.length !== 32) throw new Error('not a Z85 CURVE secret key');
  // NOTE: require, not import: node:crypto stays unloaded in every worker without CURVE keys (idle RSS, bench/idle-rss.ts).
  const { createPrivateKey, createPublicKey } = require('node:crypto') as typeof import('node:crypto');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, secret]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return z85Encode(spki.subarray(spki.length - 32));
}

/** Read a key file (40 Z85 characters, surrounding whitespace ignored); `what` names it in errors. */
export async function readKeyFile(file: string, what: string): Promise<string> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new ConfigError([`${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  if (!isZ85Key(text)) throw new ConfigError([`${what} ${file}: not a CURVE key (40 Z85 characters; make one with m2pool keygen)`]);
  return text;
}
