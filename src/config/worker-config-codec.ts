/**
 * How a {@link WorkerConfig} travels from the supervisor to the worker it forks: JSON in one environment
 * variable, {@link WORKER_CONFIG_ENV} (the command line keeps only `worker --app MODULE`, readable in `ps` until
 * the worker sets its title). What arrives is checked like any other configuration: every key with its check from
 * the settings table (`settings.ts`), unknown keys refused, every problem reported at once.
 * @module
 */
import { ConfigError, errorMessage } from '../errors';
import { bool, endpointList, isRecord, Reader, show, str, unknownKeyIssues, workerEndpoint, type Check } from './checks';
import { defaultIn, settingsOf } from './settings';
import { dispatcherEndpointProblem, type DispatcherEndpoint, type WorkerConfig } from './worker-config';

/** The environment variable a forked worker finds its configuration in. */
export const WORKER_CONFIG_ENV = 'M2POOL_WORKER_CONFIG';

const WORKER_SETTINGS = settingsOf('worker');

/** Every key of {@link WorkerConfig}: its own (app, endpoints), then the worker settings. */
const WORKER_KEYS: ReadonlySet<string> = new Set(['app', 'sendSpecs', 'recvSpecs', 'dispatcher', ...WORKER_SETTINGS.map((s) => s.key)]);

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
  const r = new Reader<string>(raw);
  r.issues.push(...unknownKeyIssues(raw, WORKER_KEYS));
  const dispatcher = r.optional('dispatcher', dispatcherEndpoint);
  const out: Record<string, unknown> = {
    app: r.required('app', str(true), ''),
    sendSpecs: r.required('sendSpecs', endpointList(0), []),
    recvSpecs: r.required('recvSpecs', endpointList(0), []),
    ...(dispatcher === undefined ? {} : { dispatcher }),
  };
  for (const s of WORKER_SETTINGS) {
    if (s.worker === 'optional') {
      const v = r.optional(s.key, s.type.check);
      if (v !== undefined) out[s.key] = v;
    } else {
      out[s.key] = r.required(s.key, s.type.check, defaultIn(s, 'worker'));
    }
  }
  const config = out as WorkerConfig;
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
