/**
 * Human-readable rendering of a {@link PoolSnapshot} for `m2pool status`.
 * @module
 */
import type { PoolSnapshot } from '../supervisor/control/pool-snapshot';

/** Light shape check of a `/pool` document received over HTTP. */
export function isPoolSnapshot(x: unknown): x is PoolSnapshot {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o['desired'] === 'number' && typeof o['ready'] === 'number' && Array.isArray(o['workers']) && Array.isArray(o['breaker']);
}

/** `65_000` → `1m05s`. */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The topology and, in dispatch mode, the dispatcher's state. Older supervisors send no topology: direct. */
function topologyLine(p: PoolSnapshot): string {
  const topology = p.topology ?? 'direct';
  if (topology === 'direct') return 'topology direct: every worker connects to Mongrel2';
  if (p.dispatcher === null || p.dispatcher === undefined) return `topology dispatch: workers join the remote dispatcher ${p.remoteDispatcher ?? '?'}`;
  const d = p.dispatcher;
  const m2 = d.mongrel2Ready === null ? 'Mongrel2 ?' : `Mongrel2 ${d.mongrel2Ready}/${d.mongrel2Servers}`;
  const last = d.lastExit === null ? '' : `; last exit ${d.lastExit.reason} ${formatDuration(d.lastExit.agoMs)} ago`;
  return `topology dispatch: dispatcher ${d.state} (pid ${d.pid ?? '-'}), ${m2}, ${d.pending} pending, restarts ${d.restarts}, up ${formatDuration(d.uptimeMs)}, workers join ${d.endpoint}${last}`;
}

/** The autoscaler's bounds and last decision, or that the count is set by hand. */
function autoscaleLine(p: PoolSnapshot): string {
  const a = p.autoscale;
  if (a === null || a === undefined) return 'autoscale off: the count changes only by hand (scale, signals, pm2)';
  const head = `autoscale on: ${a.min}..${a.max} workers, every ${a.intervalMs < 1000 ? `${a.intervalMs} ms` : formatDuration(a.intervalMs)}, scale-down window ${formatDuration(a.scaleDownWindowMs)}; manual scaling refused`;
  const d = a.last;
  if (d === null) return `${head}; no decision yet`;
  const what = d.direction === 'none' ? `held at ${d.desired}` : `${d.direction} ${d.from} -> ${d.desired}`;
  const signals = [
    `utilisation ${d.utilization.toFixed(2)}`,
    d.queueWaitP95Ms === null ? undefined : `queue wait p95 ${Math.round(d.queueWaitP95Ms)} ms`,
    d.eventLoopUtilization === null ? undefined : `event loop ${d.eventLoopUtilization.toFixed(2)}`,
    d.cpuUtilization === null ? undefined : `CPU ${d.cpuUtilization.toFixed(2)}`,
  ].filter((x): x is string => x !== undefined);
  return `${head}
  last decision ${formatDuration(d.agoMs)} ago: ${what} (${d.reason}); ${signals.join(', ')}`;
}

/** The status report: a summary line, one row per worker, then slots that failed recently. */
export function formatStatus(p: PoolSnapshot): string {
  const out: string[] = [
    `pool ${p.phase} (supervisor pid ${p.pid}): desired ${p.desired}, ready ${p.ready}, booting ${p.booting}, draining ${p.draining}; ` +
      `generation ${p.generation}; minReady ${p.minReady}; scale range ${p.minWorkers}..${p.maxWorkers}`,
  ];
  out.push(topologyLine(p));
  out.push(autoscaleLine(p));
  if (p.notReadyReason !== null && p.notReadyReason !== undefined) out.push(`NOT READY: ${p.notReadyReason}`);
  if (p.rollout !== null) {
    out.push(`reload to generation ${p.rollout.generation} ${p.rollout.failed ? 'FAILED (a replacement crash-looped; old workers keep serving)' : 'in progress'} for ${formatDuration(p.rollout.startedAgoMs)}`);
  }
  out.push('');
  out.push(
    p.workers.length === 0
      ? '(no workers)'
      : table(
          ['SLOT', 'PID', 'STATE', 'GEN', 'RESTARTS', p.topology === 'dispatch' && p.dispatcher !== null ? 'GRANT' : 'IN-FLIGHT', 'HANDLED', 'LAG-MS', 'RSS-MB', 'UPTIME', 'NOTE'],
          p.workers.map((w) => [
            String(w.slot),
            String(w.pid ?? '-'),
            w.state,
            String(w.generation),
            String(w.restarts),
            String(w.grant ?? w.inFlight),
            String(w.handled),
            String(Math.round(w.loopLagMs)),
            (w.rssBytes / 1048576).toFixed(1),
            formatDuration(w.uptimeMs),
            w.drainReason ?? w.recycleReason ?? '',
          ]),
        ),
  );
  if (p.breaker.length > 0) {
    out.push('', 'slots with failures:');
    out.push(
      table(
        ['SLOT', 'BREAKER', 'FAILURES', 'RESTARTS', 'NEXT-SPAWN', 'LAST-EXIT'],
        p.breaker.map((b) => [
          String(b.slot),
          b.open ? 'OPEN' : 'closed',
          String(b.failures),
          String(b.restarts),
          b.nextSpawnInMs === null ? '-' : `in ${b.nextSpawnInMs} ms`,
          b.lastExit === null
            ? '-'
            : `${b.lastExit.reason} (${b.lastExit.signal ?? `code ${String(b.lastExit.code)}`}) ${formatDuration(b.lastExit.agoMs)} ago`,
        ]),
      ),
    );
    if (p.breaker.some((b) => b.open)) {
      out.push("an OPEN breaker stops that slot respawning except for one probe at NEXT-SPAWN; after fixing the cause, 'm2pool reload' retries at once");
    }
  }
  return `${out.join('\n')}\n`;
}
