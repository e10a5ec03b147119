/**
 * Signalling a forked child the supervisor keeps (worker or dispatcher), tolerating a process that is gone.
 * @module
 */
/** Anything with ChildProcess's `kill` (the supervisor's `WorkerProcess`, a test fake). */
interface Killable {
  kill(signal: NodeJS.Signals): boolean;
}

/** Send `sig` to `child`; a child that already exited is not an error. */
export function signalChild(child: Killable, sig: NodeJS.Signals): void {
  try {
    child.kill(sig);
  } catch {
    // NOTE: kill() throws only for invalid signals; a gone process just returns false.
  }
}
