/**
 * `m2pool dispatcher` flags and {@link DispatcherOptions}, the settings `runDispatcher` takes; the tunable ones
 * (flags, defaults, ranges, help) come from the settings table (`config/settings.ts`, scope `dispatcher`).
 * @module
 */
import path from 'node:path';
import { adminAccessProblems, readTokenFile } from '../config/admin-token';
import { workerEndpoint } from '../config/checks';
import { MONGREL2_CONFIG_FLAG, mongrel2Endpoints } from '../config/mongrel2-endpoints';
import { applyLogFormatFlag, LOG_FORMAT_FLAG } from '../log/log-format';
import { FlagReader, settingFlag, type FlagSpecs, type FlagValues } from '../config/flags';
import { isLoopbackHost, parseHostPort, type HostPort } from '../config/host-port';
import { defaultIn, dispatcherFlag, dispatcherName, settingOf, settingsOf, type DispatcherSettings } from '../config/settings';

const DISPATCHER_SETTINGS = settingsOf('dispatcher');

/**
 * Everything one dispatcher process needs: the endpoints, keys and admin address below, and the settings of the
 * table with the `dispatcher` scope (`DispatcherSettings`: `queueLimit`, `requestTimeoutMs`, …, each described in
 * `config/settings.ts`).
 */
export type DispatcherOptions = DispatcherSettings & {
  /** Mongrel2 `send_spec`s (a PULL connects to each) … */
  readonly sendSpecs: readonly string[];
  /** … and their `recv_spec`s, same order (an XPUB connects to each). */
  readonly recvSpecs: readonly string[];
  /**
   * … and their Mongrel2 `control_port`s, same order, or none: after a predecessor crashed, the connections whose
   * requests died with it are closed through them (docs/runbook.md, "Dispatcher crash").
   */
  readonly controlSpecs: readonly string[];
  /** Where workers connect: `ipc://…` or `tcp://HOST:PORT`. */
  readonly bind: string;
  /** File with the dispatcher's CURVE secret key (tcp endpoints). */
  readonly curveSecretFile?: string | undefined;
  /** Directory of `*.pub` files: the only workers accepted on a CURVE endpoint. */
  readonly curveAuthorizedDir?: string | undefined;
  /** Allow a `tcp://` bind without CURVE. */
  readonly insecure: boolean;
  /** Serve `/metrics`, `/healthz`, `/readyz` here (standalone use; a forked dispatcher reports over IPC). */
  readonly admin?: HostPort | undefined;
  /**
   * Bearer token `/metrics` needs ('' = none); required, at least 16 characters, when `admin` is not loopback —
   * the pool's rules (`config/admin-token.ts`). From `--admin-token` or `--admin-token-file`. @default ''
   */
  readonly adminToken: string;
  /** A second token that opens `/metrics` too (a scraper's, so it need not hold the admin token). @default '' */
  readonly metricsToken: string;
};

/** The dispatcher's default of each setting, by its name there. */
export const DISPATCHER_DEFAULTS = Object.freeze(Object.fromEntries(DISPATCHER_SETTINGS.map((s) => [dispatcherName(s), defaultIn(s, 'dispatcher')]))) as DispatcherSettings;

/** The default worker endpoint: a socket in the run directory. */
export function defaultBind(runDir: string): string {
  return `ipc://${path.resolve(runDir, 'dispatch.sock')}`;
}

/** Flags of `m2pool dispatcher`. */
export const DISPATCHER_FLAGS: FlagSpecs = {
  'send-spec': { type: 'string', multiple: true, placeholder: 'endpoint', description: 'Mongrel2 handler send_spec to PULL requests from' },
  'recv-spec': { type: 'string', multiple: true, placeholder: 'endpoint', description: 'Mongrel2 handler recv_spec to publish replies to; the i-th pairs with the i-th --send-spec' },
  'control-spec': settingFlag(settingOf('controlSpecs'), 'dispatcher'),
  bind: { type: 'string', placeholder: 'endpoint', description: 'where workers connect: ipc://PATH, or tcp://HOST:PORT (needs CURVE keys or --insecure)', defaultText: 'ipc://RUN_DIR/dispatch.sock' },
  ...Object.fromEntries(DISPATCHER_SETTINGS.map((s) => [dispatcherFlag(s), settingFlag(s, 'dispatcher')])),
  'curve-secret-file': settingFlag(settingOf('curveSecretFile'), 'dispatcher'),
  'curve-authorized-dir': settingFlag(settingOf('curveAuthorizedDir'), 'dispatcher'),
  insecure: settingFlag(settingOf('insecure'), 'dispatcher'),
  'mongrel2-config': MONGREL2_CONFIG_FLAG,
  'log-format': LOG_FORMAT_FLAG,
  admin: { type: 'string', placeholder: 'host:port', description: 'serve /metrics, /healthz and /readyz on this address (off loopback it needs --admin-token)', defaultText: 'off' },
  'admin-token': { type: 'string', placeholder: 'token', description: 'bearer token /metrics of --admin needs; required off loopback, >= 16 chars (prefer --admin-token-file)' },
  'admin-token-file': { type: 'string', placeholder: 'file', description: 'file holding the admin token (kept out of ps and the environment)' },
  'metrics-token': { type: 'string', placeholder: 'token', description: 'a second bearer token for GET /metrics (a scraper\'s); unset = the admin token only' },
};

/** Turn parsed flags into options; throws one UsageError listing every problem. */
export function readDispatcherOptions(values: FlagValues): DispatcherOptions {
  const r = new FlagReader(values);
  const formatProblem = applyLogFormatFlag(values['log-format']);
  if (formatProblem !== undefined) r.issues.push(formatProblem);
  const given = { sendSpecs: r.list('send-spec'), recvSpecs: r.list('recv-spec') };
  const derived = given.sendSpecs.length === 0 && given.recvSpecs.length === 0 ? mongrel2Endpoints(r) : undefined;
  const { sendSpecs, recvSpecs } = derived ?? given;
  const flagged = r.list('control-spec');
  // From the same mongrel2.conf as the derived endpoints, unless given.
  const controlSpecs = flagged.length === 0 && derived !== undefined ? derived.controlSpecs : flagged;
  if (controlSpecs.length > 0 && controlSpecs.length !== sendSpecs.length) r.issues.push(`give one --control-spec per --send-spec, or none (got ${controlSpecs.length} and ${sendSpecs.length})`);
  if (sendSpecs.length !== recvSpecs.length) r.issues.push(`each --send-spec needs a matching --recv-spec (got ${sendSpecs.length} and ${recvSpecs.length})`);
  const read: Record<string, unknown> = {};
  for (const s of DISPATCHER_SETTINGS) {
    const name = dispatcherName(s);
    // Unless given, the backlog limit is four times the queue limit (read before it: table order).
    const fallback = name === 'backlogLimit' ? Math.min(10_000_000, (read['queueLimit'] as number) * 4) : defaultIn(s, 'dispatcher');
    read[name] = r.setting(s, dispatcherFlag(s), fallback);
  }
  const settings = read as DispatcherSettings;
  const bind = r.string('bind') ?? defaultBind(settings.runDir);
  const adminText = r.string('admin');
  let admin: HostPort | undefined;
  if (adminText !== undefined) {
    const parsed = parseHostPort(adminText);
    if (typeof parsed === 'string') r.issues.push(`--admin: ${parsed}`);
    else admin = parsed;
  }
  const { adminToken, metricsToken } = readAdminTokens(r, adminText, admin);
  const options: DispatcherOptions = {
    ...settings,
    sendSpecs,
    recvSpecs,
    controlSpecs,
    bind,
    curveSecretFile: r.string('curve-secret-file'),
    curveAuthorizedDir: r.string('curve-authorized-dir'),
    insecure: values['insecure'] === true,
    admin,
    adminToken,
    metricsToken,
  };
  r.issues.push(...securityIssues(options));
  if (options.heartbeatTimeoutMs <= options.heartbeatIntervalMs) r.issues.push('--heartbeat-timeout-ms must be longer than --heartbeat-interval-ms');
  if (options.backlogLimit < options.queueLimit) r.issues.push(`--backlog-limit (${options.backlogLimit}) must be at least --queue-limit (${options.queueLimit})`);
  r.check();
  return options;
}

/** `--admin-token` or `--admin-token-file`, and `--metrics-token`, checked by the pool admin's rules. */
function readAdminTokens(r: FlagReader, adminText: string | undefined, admin: HostPort | undefined): { adminToken: string; metricsToken: string } {
  const file = r.string('admin-token-file');
  let adminToken = r.string('admin-token') ?? '';
  const metricsToken = r.string('metrics-token') ?? '';
  if (file !== undefined) {
    if (adminToken !== '') r.issues.push('--admin-token and --admin-token-file: give one of them, not both');
    const read = readTokenFile(file);
    if ('problem' in read) r.issues.push(`--admin-token-file: ${read.problem}`);
    else adminToken = read.token;
  }
  if (adminText === undefined) {
    if (adminToken !== '' || metricsToken !== '' || file !== undefined) r.issues.push('--admin-token, --admin-token-file and --metrics-token need --admin');
  } else if (admin !== undefined) {
    const flag = { adminToken: '--admin-token', metricsToken: '--metrics-token' } as const;
    for (const { key, problem } of adminAccessProblems({ offHost: !isLoopbackHost(admin.host), adminToken, metricsToken }, adminText)) r.issues.push(`${flag[key]} ${problem}`);
  }
  return { adminToken, metricsToken };
}

/**
 * A `tcp://` endpoint is reachable by others: without CURVE anyone who reaches it could read requests and inject
 * replies, so it needs keys (and an authorized directory: without one any client would be accepted), unless the
 * operator says `--insecure`.
 */
export function securityIssues(o: Pick<DispatcherOptions, 'bind' | 'curveSecretFile' | 'curveAuthorizedDir' | 'insecure'>): string[] {
  const issues: string[] = [];
  if ((o.curveSecretFile === undefined) !== (o.curveAuthorizedDir === undefined)) {
    issues.push('--curve-secret-file and --curve-authorized-dir go together');
  }
  if (o.bind.startsWith('tcp://') && o.curveSecretFile === undefined && !o.insecure) {
    issues.push(`refusing to bind ${o.bind} without CURVE keys: give --curve-secret-file and --curve-authorized-dir (m2pool keygen), or --insecure`);
  }
  const bind = workerEndpoint(o.bind);
  if ('problem' in bind) issues.push(`--bind ${bind.problem}`);
  return issues;
}
