/**
 * The Mongrel2 endpoints `start`, `worker` and `dispatcher` use when given none: those of a mongrel2.conf's
 * `Handler(send_spec=…, recv_spec=…)` — the shipped deploy/mongrel2/mongrel2.conf unless `--mongrel2-config FILE`
 * names another — with `${RUN_DIR}` as `m2pool mongrel2 --config FILE` fills it in by default (`run/mongrel2` under
 * the working directory) and `${NAME:-default}` from the environment. So `m2pool mongrel2 --config X` and
 * `m2pool start --app Y` started side by side meet without an endpoint flag.
 * @module
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../errors';
import { expandConfigTemplate } from '../mongrel2/config-template';
import { settingFlag, type FlagReader, type FlagSpec } from './flags';
import { settingOf } from './settings';

/** The mongrel2.conf shipped with m2pool (dist/src/config → the package root). */
export const SHIPPED_MONGREL2_CONFIG = path.resolve(__dirname, '..', '..', '..', 'deploy', 'mongrel2', 'mongrel2.conf');

/** `m2pool mongrel2`'s default run directory (relative to the working directory). */
export const DEFAULT_MONGREL2_RUN_DIR = 'run/mongrel2';

/** The handler endpoints of a config: one send/recv pair per `Handler(...)`, in order. */
export interface Mongrel2Endpoints {
  readonly sendSpecs: readonly string[];
  readonly recvSpecs: readonly string[];
  /**
   * The `Server(control_port=…)` of the config, one per send spec, or none: the dispatcher sweeps a crashed
   * predecessor's lost requests through it (docs/runbook.md, "A dispatcher crash"). A relative `ipc://` path is
   * relative to the run directory, where Mongrel2 runs.
   */
  readonly controlSpecs: readonly string[];
}

const HANDLER = /\bHandler\s*\(([^)]*)\)/g;
const CONTROL_PORT = /\bcontrol_port\s*=\s*(['"])(.*?)\1/;

/** The value of `name='…'` (or "…") inside a Handler's arguments. */
function argument(args: string, name: string): string | undefined {
  return new RegExp(`\\b${name}\\s*=\\s*(['"])(.*?)\\1`, 's').exec(args)?.[2];
}

/**
 * The endpoints of the first `Handler(...)` of config `text` (a pool serves one handler), placeholders expanded.
 * @throws Error when the config has no Handler with both specs, or a placeholder has no value.
 */
export function handlerEndpoints(text: string, runDir: string, env: NodeJS.ProcessEnv = process.env): Mongrel2Endpoints {
  const code = text.replace(/#[^\n]*/g, '');
  const first = HANDLER.exec(code);
  HANDLER.lastIndex = 0;
  const args = first?.[1];
  const send = args === undefined ? undefined : argument(args, 'send_spec');
  const recv = args === undefined ? undefined : argument(args, 'recv_spec');
  if (send === undefined || recv === undefined) throw new Error('has no Handler(send_spec=..., recv_spec=...)');
  // PORT is the HTTP port; endpoints never use it, but the template wants a value.
  const expand = (spec: string): string => expandConfigTemplate(spec, { runDir, port: 0 }, env);
  const control = CONTROL_PORT.exec(code)?.[2];
  const controlSpec = control === undefined ? undefined : expand(control);
  const controlSpecs = controlSpec === undefined ? [] : [controlSpec.startsWith('ipc://') && !controlSpec.startsWith('ipc:///') ? `ipc://${path.resolve(runDir, controlSpec.slice('ipc://'.length))}` : controlSpec];
  return { sendSpecs: [expand(send)], recvSpecs: [expand(recv)], controlSpecs };
}

/**
 * Read `file` (default: the shipped config) and return its handler's endpoints, `${RUN_DIR}` being
 * `cwd/run/mongrel2`. `read` is injectable for the pure config resolver.
 * @throws Error naming the file when it cannot be read or has no handler.
 */
export function readMongrel2Endpoints(file: string = SHIPPED_MONGREL2_CONFIG, cwd: string = process.cwd(), read: (f: string) => string = (f) => readFileSync(f, 'utf8')): Mongrel2Endpoints {
  let text: string;
  try {
    text = read(file);
  } catch (err) {
    throw new Error(`mongrel2 config ${file}: cannot read it: ${errorMessage(err)}`);
  }
  try {
    return handlerEndpoints(text, path.resolve(cwd, DEFAULT_MONGREL2_RUN_DIR));
  } catch (err) {
    throw new Error(`mongrel2 config ${file}: ${errorMessage(err)}`);
  }
}

/** `--mongrel2-config FILE` of `worker` and `dispatcher` (`start` has it as a configuration key). */
export const MONGREL2_CONFIG_FLAG: FlagSpec = settingFlag(settingOf('mongrel2Config'), 'pool');

/** No endpoint flag given: the handler of `--mongrel2-config` (default: the shipped mongrel2.conf); a problem goes to `r`. */
export function mongrel2Endpoints(r: FlagReader): { sendSpecs: string[]; recvSpecs: string[]; controlSpecs: string[] } {
  try {
    const found = readMongrel2Endpoints(r.string('mongrel2-config'));
    return { sendSpecs: [...found.sendSpecs], recvSpecs: [...found.recvSpecs], controlSpecs: [...found.controlSpecs] };
  } catch (err) {
    r.issues.push(`no --send-spec/--recv-spec given, and ${errorMessage(err)}`);
    return { sendSpecs: [], recvSpecs: [], controlSpecs: [] };
  }
}
