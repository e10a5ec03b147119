/**
 * `pm2 scale m2pool N` runs N supervisors from one ecosystem entry. Each must have an admin address of its own:
 * instance i (pm2's `NODE_APP_INSTANCE`) serves on the configured port + i. In the ecosystem's layout every
 * pool joins the one dispatcher, so N instances are N pools sharing the load, and scaling pm2 down drains a
 * pool's workers through the dispatcher like any leave.
 * @module
 */
import { formatHostPort, parseHostPort } from '../../config/host-port';

/** The admin address of this pm2 instance: `admin` itself outside pm2, for instance 0 and for port 0. */
export function adminForPm2Instance(admin: string, env: NodeJS.ProcessEnv): string {
  const instance = Number(env['NODE_APP_INSTANCE']);
  if (env['pm_id'] === undefined || !Number.isInteger(instance) || instance <= 0) return admin;
  const hp = parseHostPort(admin);
  if (typeof hp === 'string' || hp.port === 0) return admin;
  return formatHostPort({ ...hp, port: hp.port + instance });
}
