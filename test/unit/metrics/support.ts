/**
 * Shared helpers of the metrics tests: promtool, the repository root, and reading exposition text back.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { WorkerMetrics, type RequestObservation } from '../../../src/metrics';

/** Where the Debian `prometheus` package installs promtool. */
export const PROMTOOL = '/usr/bin/promtool';

/** A skip reason when promtool is missing, else false (node:test `skip` option). */
export const PROMTOOL_MISSING: string | false = existsSync(PROMTOOL)
  ? false
  : `${PROMTOOL} not found: install the Debian package "prometheus" (CI installs it)`;

/** Repository root, from dist/test/unit/metrics. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

/** Result of one promtool run. */
export interface PromtoolResult {
  readonly status: number | null;
  readonly output: string;
}

/** Run promtool with `args` (and `input` on stdin); 30 s deadline. */
export function promtool(args: readonly string[], input?: string): PromtoolResult {
  const r = spawnSync(PROMTOOL, [...args], { input, encoding: 'utf8', timeout: 30_000, cwd: REPO_ROOT });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/**
 * Sample lines of an exposition as `name{labels} → value` (label text exactly as written), ignoring comments.
 * Throws on a duplicate sample: every series must appear once.
 */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    const key = line.slice(0, cut);
    if (out.has(key)) throw new Error(`duplicate sample ${key}`);
    const raw = line.slice(cut + 1);
    out.set(key, raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw));
  }
  return out;
}

/** The value of one sample, failing loudly when it is absent. */
export function sample(text: string, key: string): number {
  const v = samples(text).get(key);
  if (v === undefined) throw new Error(`no sample ${key} in:\n${text}`);
  return v;
}

/** A request observation with defaults (GET / 200 in 5 ms, 100 bytes). */
export function req(over: Partial<RequestObservation> = {}): RequestObservation {
  return { route: '/', method: 'GET', status: 200, durationMs: 5, bytesSent: 100, outcome: 'response', ...over };
}

/** A worker snapshot after `n` requests of `obs`, as it crosses the IPC channel (JSON round trip). */
export async function workerSnapshot(n: number, obs: RequestObservation = req(), setup?: (w: WorkerMetrics) => void): Promise<unknown[]> {
  const w = new WorkerMetrics();
  for (let i = 0; i < n; i++) w.observeRequest(obs);
  setup?.(w);
  return JSON.parse(JSON.stringify(await w.snapshot())) as unknown[];
}

/** The alerts' default runbook base: docs/runbook.md as the npm package ships it (deploy/prometheus/m2pool-rules.yml). */
export const RUNBOOK_BASE = 'https://unpkg.com/m2pool/docs/runbook.md';
