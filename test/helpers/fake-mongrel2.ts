/**
 * A fake Mongrel2 for wire-level tests: a real ZeroMQ PUSH (requests) and SUB (replies) bound on ipc in a temp
 * dir, the way Mongrel2 binds its handler sockets, so that anything can be written straight to a worker.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Push, XSubscriber } from 'zeromq';
import type { TestProcess } from './processes';
import { waitFor } from './wait-for';

/** A bound PUSH/SUB pair; `workerArgs` points a worker at it. */
export interface FakeMongrel2 {
  readonly dir: string;
  readonly push: Push;
  readonly sub: XSubscriber;
  /** `--send-spec`/`--recv-spec` for a worker. */
  readonly workerArgs: readonly string[];
  /** Resolves once `worker` logged worker.ready (subscribing until it does). */
  awaitReady(worker: TestProcess): Promise<void>;
  /** Close both sockets and remove the temp dir. Idempotent. */
  close(): Promise<void>;
}

/** Bind a fake Mongrel2 in a fresh temp dir; register `close` with `t.after`. */
export async function startFakeMongrel2(): Promise<FakeMongrel2> {
  const dir = await mkdtemp(path.join(tmpdir(), 'm2p-fake-'));
  const push = new Push({ linger: 0 });
  const sub = new XSubscriber({ linger: 0 });
  await push.bind(`ipc://${dir}/req`);
  await sub.bind(`ipc://${dir}/rep`);
  let closed = false;
  return {
    dir,
    push,
    sub,
    workerArgs: ['--send-spec', `ipc://${dir}/req`, '--recv-spec', `ipc://${dir}/rep`],
    async awaitReady(worker) {
      // NOTE: a zeromq.js 6.8 (libzmq 4.3.5) SUB bound before the peer connects does not replay its subscription
      // to it (Mongrel2's libzmq 4.3.4 SUB does), so the fake subscribes explicitly until the worker sees it.
      // Duplicate subscriptions are invisible to the worker's XPUB.
      await waitFor(async () => {
        await sub.send(Buffer.from([1]));
        return worker.logs.some((l) => l['msg'] === 'worker.ready');
      }, { what: 'worker ready on the fake Mongrel2' });
    },
    async close() {
      if (closed) return;
      closed = true;
      push.close();
      sub.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
