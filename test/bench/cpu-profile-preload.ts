/**
 * Preloaded (`NODE_OPTIONS=--require …`) into every Node process of a profiled variant, because Node 20 refuses
 * `--cpu-prof` in NODE_OPTIONS and the supervisor forks workers with an empty execArgv: starts the V8 sampling
 * profiler through an in-process inspector session and writes `CPU.<pid>.cpuprofile` into
 * $BENCH_PROFILE_DIR when the process exits (the same format `node --cpu-prof` writes). Not an M2POOL_ name: the
 * supervisor strips those from the environment of the workers and the dispatcher it forks (supervisor/arbiter/spawn.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env['BENCH_PROFILE_DIR'];
if (dir !== undefined && dir !== '') {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // A same-thread session answers synchronously, so this runs before the process is gone.
    session.post('Profiler.stop', (err, result) => {
      if (err !== null) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `CPU.${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
