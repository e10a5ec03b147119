/**
 * `m2pool worker` flags, parsed onto the worker-configuration contract (`WorkerConfig`, `config/worker-config.ts`;
 * docs/architecture.md, "The worker contract"). A worker the supervisor forks finds its whole configuration in
 * `M2POOL_WORKER_CONFIG`; flags given on the command line win over it. A worker run by hand gets the worker
 * defaults for every flag it is not given. The app and the way to Mongrel2 have flags of their own here; every
 * other flag is a setting of the table with the `worker` scope (`config/settings.ts`).
 * @module
 */
import { posix } from 'node:path';
import { workerEndpoint } from '../config/checks';
import { FlagReader, settingFlag, type FlagSpecs, type FlagValues } from '../config/flags';
import { LOG_FORMAT_FLAG } from '../log/log-format';
import { defaultIn, settingOf, settingsOf } from '../config/settings';
import { DEFAULT_UPLOAD_BASENAME, parseUploadStore } from '../config/upload-template';
import { decodeWorkerConfig, WORKER_CONFIG_ENV } from '../config/worker-config-codec';
import { dispatcherEndpointProblem, type DispatcherEndpoint, type WorkerConfig } from '../config/worker-config';
import { ConfigError } from '../errors';
import { MONGREL2_CONFIG_FLAG, mongrel2Endpoints } from '../config/mongrel2-endpoints';

/** The settings `runWorker` takes: the worker configuration itself (kept as a name for embedders). */
export type WorkerOptions = WorkerConfig;

const WORKER_SETTINGS = settingsOf('worker');

/** Flags of `m2pool worker`. */
export const WORKER_FLAGS: FlagSpecs = {
  app: settingFlag(settingOf('app'), 'worker'),
  'send-spec': { ...settingFlag(settingOf('sendSpecs'), 'worker'), defaultText: 'the handler of --mongrel2-config' },
  'recv-spec': { ...settingFlag(settingOf('recvSpecs'), 'worker'), defaultText: 'the handler of --mongrel2-config' },
  'mongrel2-config': MONGREL2_CONFIG_FLAG,
  dispatcher: { type: 'string', placeholder: 'endpoint', description: "the pool dispatcher's endpoint (ipc://PATH or tcp://HOST:PORT), instead of --send-spec/--recv-spec" },
  'curve-server-key-file': { type: 'string', placeholder: 'file', description: "the dispatcher's CURVE public key (.pub), for a tcp:// --dispatcher" },
  'curve-secret-file': { type: 'string', placeholder: 'file', description: "this worker's CURVE secret key (.key, m2pool keygen); its .pub must be in the dispatcher's authorized directory" },
  insecure: { type: 'boolean', description: 'allow a tcp:// --dispatcher without CURVE keys (anyone on the path can read requests and forge replies)' },
  ...Object.fromEntries(WORKER_SETTINGS.map((s) => [s.flag, settingFlag(s, 'worker')])),
  'upload-dir': settingFlag(settingOf('uploadDir'), 'worker'),
  'log-format': LOG_FORMAT_FLAG,
};

/**
 * Turn parsed flags into a worker configuration; throws one UsageError listing every problem.
 * @param handed the text of `M2POOL_WORKER_CONFIG` when forked by a supervisor: the base the flags override.
 */
export function readWorkerConfig(values: FlagValues, handed?: string): WorkerConfig {
  const r = new FlagReader(values);
  const base = handed === undefined ? undefined : readHanded(handed, r);
  r.check();
  const given = base as Readonly<Record<string, unknown>> | undefined;
  const settings: Record<string, unknown> = {};
  for (const s of WORKER_SETTINGS) {
    if (s.key === 'uploadStore') continue; // with --upload-dir, below
    const fallback = given?.[s.key] ?? (s.worker === 'optional' ? undefined : defaultIn(s, 'worker'));
    const value = values[s.flag] === undefined ? fallback : r.setting(s, s.flag, fallback);
    if (value !== undefined) settings[s.key] = value;
  }
  const uploadStore = readUploadTemplate(r) ?? base?.uploadStore;
  const config = {
    ...settings,
    app: base === undefined || values['app'] !== undefined ? r.required('app') : base.app,
    ...readEndpoints(r, base),
    ...(uploadStore === undefined ? {} : { uploadStore }),
  } as WorkerConfig;
  r.check();
  return config;
}

/** The handed-over configuration, or undefined with its problems recorded (a broken one is a usage error). */
function readHanded(text: string, r: FlagReader): WorkerConfig | undefined {
  try {
    return decodeWorkerConfig(text);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    r.issues.push(`${WORKER_CONFIG_ENV} (the configuration the supervisor handed over) is invalid:`, ...err.issues.map((i) => `  - ${i}`));
    return undefined;
  }
}

/** `--upload-store` (else `--upload-dir` DIR as DIR/upload.XXXXXX); a bad template is a usage problem. */
function readUploadTemplate(r: FlagReader): string | undefined {
  const dir = r.string('upload-dir');
  const template = r.string('upload-store') ?? (dir === undefined ? undefined : posix.join(dir, DEFAULT_UPLOAD_BASENAME));
  if (template === undefined) return undefined;
  try {
    parseUploadStore(template);
  } catch (err) {
    r.issues.push(err instanceof Error ? err.message : String(err));
  }
  return template;
}

/**
 * `--send-spec`/`--recv-spec` or `--dispatcher` with its CURVE files; without any of them, the handed-over
 * configuration's. A tcp:// dispatcher without keys is refused unless `--insecure`.
 */
function readEndpoints(r: FlagReader, base: WorkerConfig | undefined): Pick<WorkerConfig, 'sendSpecs' | 'recvSpecs' | 'dispatcher'> {
  const sendSpecs = r.list('send-spec');
  const recvSpecs = r.list('recv-spec');
  const given = ['dispatcher', 'curve-server-key-file', 'curve-secret-file'].some((f) => r.string(f) !== undefined) || r.flag('insecure');
  if (base !== undefined && !given && sendSpecs.length === 0 && recvSpecs.length === 0) {
    return { sendSpecs: base.sendSpecs, recvSpecs: base.recvSpecs, ...(base.dispatcher === undefined ? {} : { dispatcher: base.dispatcher }) };
  }
  const dispatcher = readDispatcherEndpoint(r);
  if (dispatcher !== undefined) {
    if (sendSpecs.length > 0 || recvSpecs.length > 0) r.issues.push('--dispatcher and --send-spec/--recv-spec are mutually exclusive');
    return { sendSpecs, recvSpecs, dispatcher };
  }
  if (sendSpecs.length === 0 && recvSpecs.length === 0) return mongrel2Endpoints(r);
  if (sendSpecs.length !== recvSpecs.length) {
    r.issues.push(`each --send-spec needs a matching --recv-spec (got ${sendSpecs.length} and ${recvSpecs.length})`);
  }
  return { sendSpecs, recvSpecs };
}

/** `--dispatcher` and its CURVE files. */
function readDispatcherEndpoint(r: FlagReader): DispatcherEndpoint | undefined {
  const endpoint = r.string('dispatcher');
  const curveServerKeyFile = r.string('curve-server-key-file');
  const curveSecretFile = r.string('curve-secret-file');
  const insecure = r.flag('insecure');
  if (endpoint === undefined) {
    if (curveServerKeyFile !== undefined || curveSecretFile !== undefined || insecure) r.issues.push('--curve-server-key-file, --curve-secret-file and --insecure need --dispatcher');
    return undefined;
  }
  const checked = workerEndpoint(endpoint);
  if ('problem' in checked) r.issues.push(`--dispatcher ${checked.problem}`);
  if ((curveServerKeyFile === undefined) !== (curveSecretFile === undefined)) r.issues.push('--curve-server-key-file and --curve-secret-file go together');
  const d: DispatcherEndpoint = {
    endpoint,
    ...(curveServerKeyFile === undefined ? {} : { curveServerKeyFile }),
    ...(curveSecretFile === undefined ? {} : { curveSecretFile }),
    ...(insecure ? { insecure } : {}),
  };
  const unsafe = 'problem' in checked ? undefined : dispatcherEndpointProblem(d, true);
  if (unsafe !== undefined) r.issues.push(unsafe);
  return d;
}
