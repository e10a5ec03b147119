/**
 * `m2pool keygen --out-dir <dir> --name <name>`: write a CurveZMQ key pair, `<name>.key` (secret, mode 0600) and
 * `<name>.pub`, for a `tcp://` dispatcher endpoint. Existing files are never overwritten.
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { curveKeyPair } from 'zeromq';
import { ExitCode } from '../errors';
import { FlagReader, type FlagSpecs } from '../config/flags';
import { command } from './command';

const KEYGEN_FLAGS: FlagSpecs = {
  'out-dir': { type: 'string', placeholder: 'dir', description: 'directory to write the two files to (created if missing)' },
  name: { type: 'string', placeholder: 'name', description: 'file name stem: NAME.key and NAME.pub' },
};

/** Run the command; resolves with the exit code. */
export const keygenCommand = command(
  {
    usage: 'm2pool keygen --out-dir DIR --name NAME',
    summary: "Write a CURVE key pair: give the dispatcher its .key and the workers its .pub (--curve-server-key-file); put each worker's .pub in the dispatcher's --curve-authorized-dir.",
    flags: KEYGEN_FLAGS,
  },
  async (values) => {
    const r = new FlagReader(values);
    const dir = r.required('out-dir');
    const name = r.required('name');
    if (name !== '' && !/^[A-Za-z0-9._-]+$/.test(name)) r.issues.push('--name may only hold letters, digits, ".", "_" and "-"');
    r.check();
    const { publicKey, secretKey } = curveKeyPair();
    await mkdir(dir, { recursive: true });
    const secretFile = path.join(dir, `${name}.key`);
    const publicFile = path.join(dir, `${name}.pub`);
    // 'wx': fail if the file exists; the mode applies at creation, before any byte is written.
    await writeFile(secretFile, `${secretKey}\n`, { flag: 'wx', mode: 0o600 });
    await writeFile(publicFile, `${publicKey}\n`, { flag: 'wx', mode: 0o644 });
    process.stdout.write(`${secretFile}\n${publicFile}\n`);
    return ExitCode.OK;
  },
);
