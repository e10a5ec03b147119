/**
 * How a {@link WorkerConfig} travels from the supervisor to the worker it forks: JSON in one environment
 * variable, {@link WORKER_CONFIG_ENV} (the command line keeps only `worker --app MODULE`, readable in `ps` until
 * the worker sets its title). What arrives is checked like any other configuration: every key, its type and
 * range (`WORKER_LIMITS`), unknown keys refused, every problem reported at once.
 * @module
 */
import { ConfigError, errorMessage } from '../errors';
import { bool, endpointList, isRecord, level, onOff, Reader, show, str, unknownKeyIssues, uploadTemplate, workerEndpoint, type Check } from './checks';
import { appKind as appKindCheck } from './app-kind';
import { dispatcherEndpointProblem, WORKER_DEFAULTS, workerNumber as limited, type DispatcherEndpoint, type WorkerConfig, type WorkerNumberKey } from './worker-config';

/** The environment variable a forked worker finds its configuration in. */
export const WORKER_CONFIG_ENV = 'M2POOL_WORKER_CONFIG';

/** Every key of {@link WorkerConfig} (a `Record` over the keys, so a key added to the type must be added here). */
const WORKER_KEYS: ReadonlySet<string> = new Set(Object.keys({
  app: true, appKind: true, sendSpecs: true, recvSpecs: true, dispatcher: true, maxInFlight: true, receiveHwm: true, requestTimeoutMs: true, maxRequestBytes: true,
  drainTimeoutMs: true, bootTimeoutMs: true, heartbeatIntervalMs: true, sendTimeoutMs: true, uploadStore: true, uploadThreshold: true,
  maxUploadBytes: true, logLevel: true, requestLogLevel: true, metrics: true,
} satisfies Record<keyof WorkerConfig, true>));

const DISPATCHER_KEYS: ReadonlySet<string> = new Set(Object.keys({ endpoint: true, curveServerKeyFile: true, curveSecretFile: true, insecure: true } satisfies Record<keyof DispatcherEndpoint, true>));

/** The text {@link decodeWorkerConfig} turns back into `config`. */
export function encodeWorkerConfig(config: WorkerConfig): string {
  return JSON.stringify(config);
}

const dispatcherEndpoint: Check<DispatcherEndpoint> = (v) => {
  if (!isRecord(v)) return { problem: `must be an object with ${[...DISPATCHER_KEYS].join(', ')}, got ${show(v)}` };
  const r = new Reader<keyof DispatcherEndpoint>(v);
  r.issues.push(...unknownKeyIssues(v, DISPATCHER_KEYS));
  const endpoint = r.required('endpoint', workerEndpoint, '');
  const curveServerKeyFile = r.optional('curveServerKeyFile', str(true));
  const curveSecretFile = r.optional('curveSecretFile', str(true));
  const insecure = r.optional('insecure', bool);
  if ((curveServerKeyFile === undefined) !== (curveSecretFile === undefined)) r.problem('curveSecretFile', 'and curveServerKeyFile go together');
  const value: DispatcherEndpoint = {
    endpoint,
    ...(curveServerKeyFile === undefined ? {} : { curveServerKeyFile }),
    ...(curveSecretFile === undefined ? {} : { curveSecretFile }),
    ...(insecure === true ? { insecure } : {}),
  };
  const unsafe = r.issues.length > 0 ? undefined : dispatcherEndpointProblem(value, false);
  if (unsafe !== undefined) r.problem('endpoint', unsafe);
  if (r.issues.length > 0) return { problem: r.issues.join('; ') };
  return { value };
};

/**
 * The configuration `text` describes.
 * @throws ConfigError listing every problem (not JSON, a missing or unknown key, a value of the wrong type or range).
 */
export function decodeWorkerConfig(text: string): WorkerConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`not valid JSON: ${errorMessage(err)}`]);
  }
  if (!isRecord(raw)) throw new ConfigError([`must be a JSON object, got ${show(raw)}`]);
  const r = new Reader<keyof WorkerConfig>(raw);
  r.issues.push(...unknownKeyIssues(raw, WORKER_KEYS));
  const d = WORKER_DEFAULTS;
  const setting = (key: keyof typeof d & WorkerNumberKey): number => r.required(key, limited(key), d[key]);
  const dispatcher = r.optional('dispatcher', dispatcherEndpoint);
  const requestTimeoutMs = r.optional('requestTimeoutMs', limited('requestTimeoutMs'));
  const maxRequestBytes = r.optional('maxRequestBytes', limited('maxRequestBytes'));
  const uploadStore = r.optional('uploadStore', uploadTemplate);
  const appKind = r.optional('appKind', appKindCheck);
  const config: WorkerConfig = {
    app: r.required('app', str(true), ''),
    ...(appKind === undefined ? {} : { appKind }),
    sendSpecs: r.required('sendSpecs', endpointList(0), []),
    recvSpecs: r.required('recvSpecs', endpointList(0), []),
    ...(dispatcher === undefined ? {} : { dispatcher }),
    maxInFlight: setting('maxInFlight'),
    receiveHwm: setting('receiveHwm'),
    ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
    ...(maxRequestBytes === undefined ? {} : { maxRequestBytes }),
    drainTimeoutMs: setting('drainTimeoutMs'),
    bootTimeoutMs: setting('bootTimeoutMs'),
    heartbeatIntervalMs: setting('heartbeatIntervalMs'),
    sendTimeoutMs: setting('sendTimeoutMs'),
    ...(uploadStore === undefined ? {} : { uploadStore }),
    uploadThreshold: setting('uploadThreshold'),
    maxUploadBytes: setting('maxUploadBytes'),
    logLevel: r.required('logLevel', level, d.logLevel),
    requestLogLevel: r.required('requestLogLevel', level, d.requestLogLevel),
    metrics: r.required('metrics', onOff, d.metrics),
  };
  if (r.ok('sendSpecs', 'recvSpecs', 'dispatcher')) {
    if (config.dispatcher !== undefined) {
      if (config.sendSpecs.length > 0 || config.recvSpecs.length > 0) r.problem('dispatcher', 'excludes sendSpecs and recvSpecs (give one way to reach Mongrel2)');
    } else if (config.sendSpecs.length === 0) {
      r.problem('sendSpecs', 'needs at least one entry (or a dispatcher)');
    } else if (config.sendSpecs.length !== config.recvSpecs.length) {
      r.problem('recvSpecs', `has ${config.recvSpecs.length} entries but sendSpecs has ${config.sendSpecs.length}`);
    }
  }
  if (r.issues.length > 0) throw new ConfigError(r.issues);
  return config;
}
