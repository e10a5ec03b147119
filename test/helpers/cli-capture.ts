/** Captured stdout and stderr of an in-process CLI command (`admin-commands.ts` takes them as `deps`). */
export function captureCli(): { deps: { stdout: { write(s: string): void }; stderr: { write(s: string): void }; env: NodeJS.ProcessEnv }; out(): string; err(): string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    deps: { stdout: { write: (s: string) => void out.push(s) }, stderr: { write: (s: string) => void err.push(s) }, env: {} },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}
