/**
 * Shared helpers of the deployment-file tests: the repository root, reading files, running an external tool
 * (with a skip reason when it is not installed), and loading YAML documents.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** Repository root, from dist/test/unit/deploy. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

/** A file of the repository as text. */
export function readRepoFile(...parts: string[]): string {
  return readFileSync(path.join(REPO_ROOT, ...parts), 'utf8');
}

/** A skip reason when `binary` (an absolute path) is missing, else false (node:test `skip` option). */
export function missingTool(binary: string, hint: string): string | false {
  return existsSync(binary) ? false : `${binary} not found: ${hint}`;
}

/** Result of one tool run. */
export interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly output: string;
}

/** Run `binary` with `args` in the repository root; 30 s deadline. */
export function runTool(binary: string, args: readonly string[], env?: NodeJS.ProcessEnv): ToolResult {
  const r = spawnSync(binary, [...args], { encoding: 'utf8', timeout: 30_000, cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024, ...(env !== undefined ? { env } : {}) });
  return { status: r.status, stdout: r.stdout ?? '', output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** Every non-empty document of a YAML stream as plain data; throws on the first YAML error. */
export function yamlDocuments(text: string, what: string): unknown[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${what}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}
