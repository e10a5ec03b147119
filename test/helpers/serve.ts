/** `m2pool serve` as a child process on a free port (`--http 127.0.0.1:0`; the port comes from `serve.ready`). */
import { CLI, spawnNode, type TestProcess } from './processes';

/** A running `m2pool serve`. */
export interface ServeProcess {
  readonly proc: TestProcess;
  readonly port: number;
}

/** Start `m2pool serve --app app` and wait until it listens. */
export async function startServe(app: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const proc = spawnNode([CLI, 'serve', '--http', '127.0.0.1:0', '--app', app, ...extra], { env });
  try {
    const ready = await proc.waitForLog((l) => l['msg'] === 'serve.ready');
    return { proc, port: Number(ready['port']) };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}
