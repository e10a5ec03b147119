/**
 * Re-reading the configuration for a reload: call the source, refuse an invalid result with its problems (nothing
 * changes), keep the settings a running pool cannot take, and say which keys changed. The supervisor applies the
 * result (`Supervisor.reload`).
 * @module
 */
import type { PoolConfig } from '../../config/schema';
import { ConfigError, errorMessage } from '../../errors';
import { changedKeys, keepFixed } from './config-reload';
import type { Logger } from '../arbiter/logger';

/** Outcome of {@link rereadConfig}: the configuration to run with from now on, or why there is none. */
export type Reread =
  | { readonly ok: true; readonly config: PoolConfig; readonly changed: readonly string[] }
  | { readonly ok: false; readonly status: 400; readonly error: string };

/** Read the configuration again through `read` (throws `ConfigError` for an invalid one) and compare it to `running`. */
export function rereadConfig(running: PoolConfig, read: () => PoolConfig, log: Logger, source: string): Reread {
  let fresh: PoolConfig;
  try {
    fresh = read();
  } catch (err) {
    const issues = err instanceof ConfigError ? [...err.issues] : [errorMessage(err)];
    log.error({ event: 'pool.reload', outcome: 'rejected', source, issues }, 'pool.reload');
    return { ok: false, status: 400, error: `configuration not reloaded, nothing changed: ${issues.join('; ')}` };
  }
  const { config, ignored } = keepFixed(running, fresh);
  if (ignored.length > 0) log.warn({ event: 'pool.reload', outcome: 'config-kept', keys: ignored, source }, 'pool.reload: these settings need a restart; running values kept');
  return { ok: true, config, changed: changedKeys(running, config) };
}
