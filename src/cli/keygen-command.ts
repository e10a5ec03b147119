/**
 * `m2pool keygen --out-dir <dir> --name <name>`: write a CurveZMQ key pair, `<name>.key` (secret, mode 0600) and
 * `<name>.pub`, for a `tcp://` dispatcher endpoint. Existing files are never overwritten.
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { curveKeyPair } from 'zeromq';
import { ExitCode } from '../errors';
import { FlagReader, parseFlags, renderHelp, type FlagSpecs } from '../config/flags';

const KEYGEN_FLAGS: FlagSpecs = {
  'out-dir': { type: 'string', placeholder: 'dir', description: 'directory to write the two files to (created if missing)' },
  name: { type: 'string', placeholder: 'name', description: 'file name stem: NAME.key and NAME.pub' },
};

/** Help text of the command. */
export const KEYGEN_HELP = renderHelp(
  'm2pool keygen --out-dir DIR --name NAME',
  "Write a CURVE key pair: give the dispatcher its .key and the workers its .pub (--curve-server-key-file); put each worker's .pub in the dispatcher's --curve-authorized-dir.",
  KEYGEN_FLAGS,
);

/** Run the command; resolves with the exit code. */
export async function keygenCommand(argv: string[]): Promise<number> {
  const { values, help } = parseFlags(argv, KEYGEN_FLAGS);
  if (help) {
    process.stdout.write(KEYGEN_HELP);
    return ExitCode.OK;
  }
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
}
