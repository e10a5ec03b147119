/**
 * The m2pool Grafana dashboard as code: `dashboards/m2pool.json` is generated from this file
 * (`npm run dashboards`), and `npm test` checks that the two agree, so every panel, query and option is
 * type-checked by tsc against `@grafana/schema`'s `Dashboard`. Rows: RED (rate, errors, duration), saturation,
 * lifecycle, Mongrel2 links, supervisor. Metric names: src/metrics/definitions.ts (and the dispatcher and
 * autoscaler metrics of issues 14 and 9, which show "no data" until a pool exports them).
 * @module
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  DashboardCursorSync,
  FieldColorModeId,
  ThresholdsMode,
  VariableHide,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type DataSourceRef,
  type FieldConfigSource,
  type Panel,
  type RowPanel,
  type VariableModel,
} from '@grafana/schema';

const DS: DataSourceRef = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };
/** The label selector every query starts from: the dashboard's job and supervisor variables. */
const SEL = 'job=~"$job", instance=~"$instance"';

/** A Prometheus query of a panel (Grafana's DataQuery plus the Prometheus fields). */
interface PromQuery {
  readonly refId: string;
  readonly datasource: DataSourceRef;
  readonly expr: string;
  readonly legendFormat: string;
  readonly range: boolean;
  readonly instant: boolean;
  readonly editorMode: 'code';
}

/** A query; `instant` for stat panels. */
function q(expr: string, legendFormat: string, instant = false): Omit<PromQuery, 'refId'> {
  return { datasource: DS, expr, legendFormat, range: !instant, instant, editorMode: 'code' };
}

interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly queries: ReadonlyArray<Omit<PromQuery, 'refId'>>;
  /** Width in grid columns (24 per row). @default 12 */
  readonly w?: number;
  readonly stacked?: boolean;
  readonly decimals?: number;
  readonly max?: number;
}

const GREEN = { mode: ThresholdsMode.Absolute, steps: [{ color: 'green', value: null }] };

function fieldConfig(spec: PanelSpec, custom: Record<string, unknown>): FieldConfigSource {
  return {
    defaults: {
      unit: spec.unit,
      ...(Object.keys(custom).length > 0 ? { custom } : {}),
      color: { mode: custom['drawStyle'] === undefined ? FieldColorModeId.Thresholds : FieldColorModeId.PaletteClassic },
      thresholds: GREEN,
      ...(spec.decimals !== undefined ? { decimals: spec.decimals } : {}),
      ...(spec.max !== undefined ? { max: spec.max } : {}),
    },
    overrides: [],
  };
}

type Placed = Omit<Panel, 'id' | 'gridPos'> & { readonly w: number; readonly h: number };

function panelBase(spec: PanelSpec, type: string): Pick<Panel, 'type' | 'title' | 'description' | 'datasource' | 'targets'> {
  return {
    type,
    title: spec.title,
    description: spec.description,
    datasource: DS,
    targets: spec.queries.map((t, i) => ({ refId: String.fromCharCode(65 + i), ...t })),
  };
}

function timeseries(spec: PanelSpec): Placed {
  const custom = {
    drawStyle: 'line',
    lineWidth: 1,
    fillOpacity: 20,
    showPoints: 'never',
    spanNulls: false,
    stacking: { mode: spec.stacked === true ? 'normal' : 'none', group: 'A' },
    thresholdsStyle: { mode: 'off' },
    axisSoftMin: 0,
  };
  return {
    ...panelBase(spec, 'timeseries'),
    fieldConfig: fieldConfig(spec, custom),
    options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
    w: spec.w ?? 12,
    h: 8,
  };
}

function stat(spec: PanelSpec): Placed {
  return {
    ...panelBase(spec, 'stat'),
    fieldConfig: fieldConfig(spec, {}),
    options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'none', textMode: 'auto', justifyMode: 'auto', orientation: 'auto' },
    w: spec.w ?? 6,
    h: 4,
  };
}

/** Lay rows out top to bottom, panels left to right, wrapping at 24 columns; ids in order. */
function layout(rows: ReadonlyArray<readonly [string, readonly Placed[]]>): Array<Panel | RowPanel> {
  const out: Array<Panel | RowPanel> = [];
  let y = 0;
  let id = 1;
  for (const [title, panels] of rows) {
    out.push({ id: id++, type: 'row', title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const { w, h, ...p } of panels) {
      if (x + w > 24) {
        y += rowHeight;
        x = 0;
        rowHeight = 0;
      }
      out.push({ id: id++, ...p, gridPos: { x, y, w, h } });
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return out;
}

const rate = (metric: string, extra = '', window = '$__rate_interval'): string => `rate(${metric}{${SEL}${extra}}[${window}])`;
const ratio5xx = (window: string): string =>
  `(sum(${rate('m2pool_requests_total', ', status_class="5xx"', window)}) or sum(${rate('m2pool_requests_total', '', window)}) * 0) / sum(${rate('m2pool_requests_total', '', window)})`;
const quantile = (qv: string, metric: string, by = 'le'): string => `histogram_quantile(${qv}, sum by (${by}) (${rate(metric, '', '5m')}))`;

const red: Placed[] = [
  stat({ title: 'Request rate', description: "Requests answered by the pool per second (all workers, including exited ones' history).", unit: 'reqps', queries: [q(`sum(${rate('m2pool_requests_total')})`, 'req/s', true)] }),
  stat({ title: '5xx ratio', description: 'Share of requests answered 5xx over the last 5 minutes (alerts: M2poolErrorBudgetBurnFast/Slow); 0, not no data, while there is traffic and no 5xx.', unit: 'percentunit', queries: [q(ratio5xx('5m'), '5xx', true)] }),
  stat({ title: 'p99 latency', description: 'Pool-wide 99th percentile of request duration over the last 5 minutes (alerts: M2poolLatencyBudgetBurnFast/Slow, SLO 99% within 1 s).', unit: 's', queries: [q(quantile('0.99', 'm2pool_request_duration_seconds_bucket'), 'p99', true)] }),
  stat({ title: 'Crash-looping slots', description: 'Slots whose crash-loop breaker is open: they respawn only one probe worker every crashLoop.probeAfterMs (alert: M2poolSlotCrashLooping).', unit: 'short', queries: [q(`sum(m2pool_slot_crashloop{${SEL}}) or vector(0)`, 'slots', true)] }),
  timeseries({ title: 'Request rate by status class', description: 'm2pool_requests_total summed over routes and methods; status_class none = no response delivered (client gone).', unit: 'reqps', stacked: true, queries: [q(`sum by (status_class) (${rate('m2pool_requests_total')})`, '{{status_class}}')] }),
  timeseries({ title: '5xx ratio', description: 'Share of requests answered 5xx; 0, not no data, while there is traffic and no 5xx. The availability SLO allows 0.1%.', unit: 'percentunit', queries: [q(ratio5xx('$__rate_interval'), '5xx ratio')] }),
  timeseries({ title: 'Latency p50 / p90 / p99', description: 'Quantiles of m2pool_request_duration_seconds over all routes: histogram_quantile over sum by (le) of 5-minute bucket rates.', unit: 's', queries: ['0.5', '0.9', '0.99'].map((v) => q(quantile(v, 'm2pool_request_duration_seconds_bucket'), `p${Number(v) * 100}`)) }),
  timeseries({ title: 'p99 latency by route (top 10)', description: '99th percentile per route pattern ((unmatched) = no route matched).', unit: 's', queries: [q(`topk(10, ${quantile('0.99', 'm2pool_request_duration_seconds_bucket', 'le, route')})`, '{{route}}')] }),
  timeseries({ title: 'Requests slower than 1 s', description: 'Share of requests above the latency SLO threshold (1 s; the SLO allows 1%).', unit: 'percentunit', queries: [q(`1 - sum(${rate('m2pool_request_duration_seconds_bucket', ', le=~"1|1.0"')}) / sum(${rate('m2pool_request_duration_seconds_count')})`, 'slower than 1 s')] }),
  timeseries({ title: 'Deadlines, disconnects, malformed messages, send failures', description: 'Per-second rates of the worker event counters.', unit: 'short', queries: [
    q(`sum(${rate('m2pool_deadline_expired_total')})`, 'deadline expired (504)'),
    q(`sum(${rate('m2pool_disconnect_notices_total')})`, 'client disconnects'),
    q(`sum(${rate('m2pool_malformed_messages_total')})`, 'malformed messages'),
    q(`sum(${rate('m2pool_reply_send_failures_total')})`, 'reply send failures'),
  ] }),
  timeseries({ title: 'Response throughput', description: 'Response bytes handed to Mongrel2 per second.', unit: 'Bps', w: 24, queries: [q(`sum(${rate('m2pool_response_bytes_total')})`, 'bytes/s')] }),
];

const saturation: Placed[] = [
  timeseries({ title: 'Utilisation (in flight / capacity)', description: 'm2pool_utilization_ratio: requests in flight / (ready workers x max in flight); what the autoscalers (KEDA, HPA) target at 0.7.', unit: 'percentunit', max: 1, queries: [q(`max by (instance) (m2pool_utilization_ratio{${SEL}})`, '{{instance}}')] }),
  timeseries({ title: 'Requests in flight per slot', description: 'Requests read and not yet finished, per worker slot (from the last metrics snapshot, pushed every 2 s).', unit: 'short', stacked: true, queries: [q(`sum by (slot) (m2pool_requests_in_flight{${SEL}})`, 'slot {{slot}}')] }),
  timeseries({ title: 'Queue wait p50 / p95 / p99 (dispatch topology)', description: 'Time from a request reaching the dispatcher to being handed to a worker (m2pool_queue_wait_seconds); grows when every worker is at its credit.', unit: 's', queries: ['0.5', '0.95', '0.99'].map((v) => q(quantile(v, 'm2pool_queue_wait_seconds_bucket'), `p${Number(v) * 100}`)) }),
  timeseries({ title: 'Event-loop lag per slot', description: "Event-loop lag reported by each slot's last heartbeat: a worker busy on CPU (the per-slot event-loop signal the pool exports).", unit: 's', queries: [q(`max by (slot) (m2pool_worker_event_loop_lag_seconds{${SEL}})`, 'slot {{slot}}')] }),
  timeseries({ title: 'Autoscaler: desired and ready workers', description: "The pool's own autoscaler (docs/runbook.md#autoscaling): m2pool_autoscale_desired_workers after each decision (0 while it is off) against the ready workers.", unit: 'short', decimals: 0, queries: [
    q(`max by (instance) (m2pool_autoscale_desired_workers{${SEL}})`, 'autoscale desired {{instance}}'),
    q(`sum by (instance) (m2pool_workers{${SEL}, state="ready"})`, 'ready {{instance}}'),
  ] }),
  timeseries({ title: 'Autoscaler changes by reason', description: 'Decisions that changed the size, per interval, by direction and reason (m2pool_autoscale_decisions_total; holds carry direction="none").', unit: 'short', stacked: true, decimals: 0, queries: [q(`sum by (direction, reason) (increase(m2pool_autoscale_decisions_total{${SEL}, direction!="none"}[$__rate_interval]))`, '{{direction}} ({{reason}})')] }),
  timeseries({ title: 'RSS per slot', description: "Resident memory of each slot's worker process(es).", unit: 'bytes', w: 24, queries: [q(`sum by (slot) (m2pool_worker_rss_bytes{${SEL}})`, 'slot {{slot}}')] }),
];

const lifecycle: Placed[] = [
  timeseries({ title: 'Workers by state', description: 'Live worker processes: booting, ready, draining (a slot shows two processes while a replacement boots next to a draining one).', unit: 'short', stacked: true, decimals: 0, w: 8, queries: [q(`sum by (state) (m2pool_workers{${SEL}})`, '{{state}}')] }),
  timeseries({ title: 'Desired vs ready', description: 'Desired count, ready workers and the readiness minimum (alerts: M2poolReadyBelowDesired, M2poolReadyBelowMinimum).', unit: 'short', decimals: 0, w: 8, queries: [
    q(`sum(m2pool_workers_desired{${SEL}})`, 'desired'),
    q(`sum(m2pool_workers{${SEL}, state="ready"})`, 'ready'),
    q(`sum(m2pool_workers_min_ready{${SEL}})`, 'min ready'),
  ] }),
  timeseries({ title: 'Restarts by reason', description: 'Worker processes replaced (exits) per interval, by reason (crash, heartbeat-timeout, boot-timeout, boot-failure, recycle-*, reload, killed).', unit: 'short', stacked: true, w: 8, queries: [q(`sum by (reason) (increase(m2pool_worker_restarts_total{${SEL}}[$__rate_interval]))`, '{{reason}}')] }),
  timeseries({ title: 'Crash-loop breaker per slot', description: "1 while a slot's crash-loop breaker is open.", unit: 'short', max: 1, w: 8, queries: [q(`max by (slot) (m2pool_slot_crashloop{${SEL}})`, 'slot {{slot}}')] }),
  timeseries({ title: 'Heartbeat age per slot', description: "Seconds since each slot's last heartbeat (sent every second from the worker's event loop); grows while a loop is blocked.", unit: 's', w: 8, queries: [q(`max by (slot) (m2pool_worker_heartbeat_age_seconds{${SEL}})`, 'slot {{slot}}')] }),
  timeseries({ title: 'Scale events', description: 'Changes of the desired worker count, by direction (a new generation starts with each reload: see Restarts by reason, reason reload).', unit: 'short', w: 8, queries: [q(`sum by (direction) (increase(m2pool_pool_scale_events_total{${SEL}}[$__rate_interval]))`, '{{direction}}')] }),
  timeseries({ title: 'Metrics snapshot age per slot', description: 'Seconds since the supervisor accepted a metrics snapshot from each slot (workers push every 2 s).', unit: 's', queries: [q(`max by (slot) (m2pool_worker_metrics_snapshot_age_seconds{${SEL}})`, 'slot {{slot}}')] }),
  timeseries({ title: 'Rejected metric snapshots', description: 'Worker snapshots the supervisor ignored, by reason (malformed, schema, too-large, stale).', unit: 'short', queries: [q(`sum by (reason) (increase(m2pool_metrics_snapshots_rejected_total{${SEL}}[$__rate_interval]))`, '{{reason}}')] }),
];

const links: Placed[] = [
  stat({ title: 'Slots without a Mongrel2 link', description: 'Slots whose worker is connected to no Mongrel2 (alert: M2poolNoMongrel2Link when all are).', unit: 'short', queries: [q(`count(max by (instance, slot) (m2pool_mongrel2_endpoints_connected{${SEL}}) == 0) or vector(0)`, 'slots', true)] }),
  timeseries({ title: 'Mongrel2 endpoints connected per slot', description: "Mongrel2 servers each slot's worker is connected to; below the configured count means a lost connection.", unit: 'short', decimals: 0, w: 18, queries: [q(`max by (slot) (m2pool_mongrel2_endpoints_connected{${SEL}})`, 'slot {{slot}}')] }),
];

const supervisor: Placed[] = [
  timeseries({ title: 'Supervisor CPU', description: 'CPU seconds per second used by the supervisor process itself.', unit: 'percentunit', queries: [q(`sum by (instance) (${rate('m2pool_supervisor_process_cpu_seconds_total')})`, '{{instance}}')] }),
  timeseries({ title: 'Supervisor memory', description: 'Resident memory and heap of the supervisor process (it should stay flat under worker churn).', unit: 'bytes', queries: [
    q(`sum by (instance) (m2pool_supervisor_process_resident_memory_bytes{${SEL}})`, 'RSS {{instance}}'),
    q(`sum by (instance) (m2pool_supervisor_nodejs_heap_size_used_bytes{${SEL}})`, 'heap {{instance}}'),
  ] }),
];

function queryVariable(name: string, label: string, query: string): VariableModel {
  return {
    name,
    label,
    type: 'query',
    datasource: DS,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    hide: VariableHide.dontHide,
    includeAll: true,
    allValue: '.+',
    multi: true,
    options: [],
    refresh: VariableRefresh.onTimeRangeChanged,
    regex: '',
    skipUrlSync: false,
    sort: VariableSort.alphabeticalAsc,
  };
}

/** The dashboard, typed: a mistake in a field name or value type is a compile error. */
export const dashboard: Dashboard = {
  title: 'm2pool',
  uid: 'm2pool-overview',
  description: 'm2pool worker pool behind Mongrel2: RED, saturation, lifecycle, Mongrel2 links (metrics: src/metrics/definitions.ts; generated from dashboards/m2pool.dashboard.ts).',
  tags: ['m2pool', 'mongrel2', 'nodejs'],
  timezone: 'browser',
  editable: true,
  graphTooltip: DashboardCursorSync.Crosshair,
  schemaVersion: 39,
  version: 1,
  refresh: '30s',
  time: { from: 'now-1h', to: 'now' },
  timepicker: {},
  fiscalYearStartMonth: 0,
  liveNow: false,
  links: [],
  annotations: {
    list: [{ builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' }],
  },
  templating: {
    list: [
      { name: 'DS_PROMETHEUS', label: 'Data source', type: 'datasource', query: 'prometheus', hide: VariableHide.dontHide, includeAll: false, multi: false, options: [], refresh: VariableRefresh.onDashboardLoad, regex: '', skipUrlSync: false },
      queryVariable('job', 'Job', 'label_values(m2pool_workers_desired, job)'),
      queryVariable('instance', 'Supervisor', 'label_values(m2pool_workers_desired{job=~"$job"}, instance)'),
    ],
  },
  panels: layout([
    ['Requests (RED: rate, errors, duration)', red],
    ['Saturation', saturation],
    ['Lifecycle', lifecycle],
    ['Mongrel2 links', links],
    ['Supervisor', supervisor],
  ]),
};

/** dashboards/m2pool.json as written by `npm run dashboards`. */
export function dashboardJson(): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

if (require.main === module) {
  const file = path.resolve(__dirname, '..', '..', 'dashboards', 'm2pool.json');
  writeFileSync(file, dashboardJson());
  process.stdout.write(`wrote ${file}\n`);
}
