/**
 * A process as pm2 forks it, for unit tests of the pm2 integration (src/supervisor/control/pm2-actions.ts,
 * pm2-metrics.ts): `env` (pm2 sets `pm_id`), an IPC `send` that records what is sent (or none), and `message` events.
 */
import { EventEmitter } from 'node:events';

export class FakePm2Process extends EventEmitter {
  readonly sent: unknown[] = [];
  constructor(readonly env: Record<string, string | undefined>, withIpc = true) {
    super();
    if (!withIpc) this.send = undefined;
  }
  send: ((m: unknown) => boolean) | undefined = (m) => {
    this.sent.push(m);
    return true;
  };
}
