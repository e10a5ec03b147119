/**
 * Poll a condition with a deadline instead of sleeping (gunicorn's wait_for_server, pino's watchFileCreated).
 */

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** @default 25 */
  readonly intervalMs?: number;
  /** Included in the timeout error. */
  readonly what?: string;
}

/** Resolve with the first truthy value of `probe`, or reject after `timeoutMs` naming `what`. */
export async function waitFor<T>(probe: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
