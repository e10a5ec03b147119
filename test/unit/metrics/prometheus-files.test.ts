import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { dashboardJson } from '../../../dashboards/m2pool.dashboard';
import { DEFAULTS } from '../../../src/config/schema';
import { PLANNED_METRICS, exportedMetricNames } from '../../helpers/planned-metrics';
import { PROMTOOL_MISSING, REPO_ROOT, RUNBOOK_BASE, promtool } from './support';

const PROM_DIR = path.join(REPO_ROOT, 'deploy', 'prometheus');
const CONFIG = path.join(PROM_DIR, 'prometheus.yml');
const RULES = path.join(PROM_DIR, 'm2pool-rules.yml');
const RULE_TESTS = path.join(PROM_DIR, 'm2pool-rules.test.yml');
const DASHBOARD = path.join(REPO_ROOT, 'dashboards', 'm2pool.json');

const read = (p: string): string => readFileSync(p, 'utf8');

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly uid?: string };
  readonly targets?: ReadonlyArray<{ readonly expr?: string; readonly datasource?: { readonly uid?: string } }>;
  readonly panels?: readonly Panel[];
}

interface Dashboard {
  readonly schemaVersion: number;
  readonly templating: { readonly list: ReadonlyArray<{ readonly name: string; readonly type: string; readonly query?: unknown }> };
  readonly panels: readonly Panel[];
}

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Grafana's built-in and dashboard variables, replaced by values that keep the PromQL meaning. */
const GRAFANA_VARIABLES: Readonly<Record<string, string>> = {
  __rate_interval: '1m',
  __interval: '1m',
  __range: '1h',
  job: '.+',
  instance: '.+',
};

function substitute(expr: string): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => {
    const name = a ?? b ?? '';
    const value = GRAFANA_VARIABLES[name];
    if (value === undefined) throw new Error(`unknown Grafana variable $${name} in ${expr}`);
    return value;
  });
}

/** Metric names written as `m2pool_…` (not recorded series such as `job:m2pool_requests:rate5m`). */
function metricNamesIn(text: string): Set<string> {
  return new Set(text.match(/(?<![\w:])m2pool_[a-z0-9_]+(?![\w:])/g) ?? []);
}


describe('Prometheus configuration and rules', () => {
  test('promtool check config accepts prometheus.yml and its rule file', { skip: PROMTOOL_MISSING }, () => {
    const r = promtool(['check', 'config', CONFIG]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /SUCCESS: 1 rule files found/);
  });

  test('the scrape target is the supervisor admin default 127.0.0.1:9890', () => {
    assert.match(read(CONFIG), /targets: \['127\.0\.0\.1:9890'\]/);
    assert.equal(DEFAULTS.admin, '127.0.0.1:9890');
  });

  test('promtool check rules accepts m2pool-rules.yml', { skip: PROMTOOL_MISSING }, () => {
    const r = promtool(['check', 'rules', RULES]);
    assert.equal(r.status, 0, r.output);
  });

  test('promtool test rules passes', { skip: PROMTOOL_MISSING }, () => {
    const r = promtool(['test', 'rules', RULE_TESTS]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /SUCCESS/);
  });

  test('every alert has a severity, a summary and a description', () => {
    const blocks = read(RULES).split(/^ {6}- alert: /m).slice(1);
    assert.ok(blocks.length >= 6, `only ${blocks.length} alerts`);
    for (const b of blocks) {
      const name = b.split('\n')[0];
      assert.match(b, /\n {10}severity: (critical|warning)\n/, `${name}: severity`);
      assert.match(b, /\n {10}summary: /, `${name}: summary`);
      assert.match(b, /\n {10}description: /, `${name}: description`);
    }
  });

  test('every alert has a runbook_url to its own section of docs/runbook.md', () => {
    const headings = new Set([...read(path.join(REPO_ROOT, 'docs', 'runbook.md')).matchAll(/^## (\w+)$/gm)].map((m) => m[1]?.toLowerCase()));
    const blocks = read(RULES).split(/^ {6}- alert: /m).slice(1);
    for (const b of blocks) {
      const name = b.split('\n')[0] ?? '';
      const url = /\n {10}runbook_url: "([^"]+)"\n/.exec(b)?.[1];
      assert.equal(url, `${RUNBOOK_BASE}#${name.toLowerCase()}`, name);
      assert.ok(headings.has(name.toLowerCase()), `docs/runbook.md has no section for ${name}`);
    }
  });

  test('no rule hard-codes a job or namespace: pools are told apart by their labels', () => {
    assert.doesNotMatch(read(RULES).replace(/^\s*#.*$/gm, ''), /\b(job|namespace)\s*=~?\s*"/);
  });

  test('every alert is tested both firing and not firing', () => {
    const alerts = [...read(RULES).matchAll(/^ {6}- alert: (\w+)$/gm)].map((m) => m[1]);
    const lines = read(RULE_TESTS).split('\n');
    const firing = new Set<string>();
    const quiet = new Set<string>();
    lines.forEach((line, i) => {
      const m = /^\s+alertname: (\w+)$/.exec(line);
      if (!m?.[1]) return;
      const next = lines[i + 1]?.trim();
      if (next === 'exp_alerts: []') quiet.add(m[1]);
      else if (next === 'exp_alerts:') firing.add(m[1]);
    });
    for (const a of alerts) {
      assert.ok(a !== undefined && firing.has(a), `${a} has no firing test`);
      assert.ok(quiet.has(a), `${a} has no not-firing test`);
    }
  });

  test('every m2pool metric the rules use is exported by the pool', async () => {
    const exported = await exportedMetricNames();
    for (const name of metricNamesIn(read(RULES))) assert.ok(exported.has(name), `rules use unknown metric ${name}`);
  });
});

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(read(DASHBOARD)) as Dashboard;
  const panels = allPanels(dashboard.panels).filter((p) => p.type !== 'row');

  test('has a recent schema and a DS_PROMETHEUS datasource variable used by every panel and query', () => {
    assert.ok(dashboard.schemaVersion >= 36 && dashboard.schemaVersion <= 41, String(dashboard.schemaVersion));
    const ds = dashboard.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
    assert.deepEqual([ds?.type, ds?.query], ['datasource', 'prometheus']);
    for (const p of panels) {
      assert.equal(p.datasource?.uid, '${DS_PROMETHEUS}', p.title);
      assert.ok((p.targets ?? []).length > 0, `${p.title} has no query`);
      for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${DS_PROMETHEUS}', p.title);
    }
  });

  test('has the panels issue #4 asks for', () => {
    const titles = panels.map((p) => p.title);
    for (const want of [
      'Request rate by status class',
      'Latency p50 / p90 / p99',
      'Requests in flight per slot',
      'Workers by state',
      'Desired vs ready',
      'Restarts by reason',
      'Heartbeat age per slot',
      'Event-loop lag per slot',
      'RSS per slot',
      '5xx ratio',
    ]) {
      assert.ok(titles.includes(want), `missing panel ${want}`);
    }
    const latency = panels.find((p) => p.title === 'Latency p50 / p90 / p99');
    assert.deepEqual(
      latency?.targets?.map((t) => /^histogram_quantile\((0\.\d+), sum by \(le\) \(rate\(m2pool_request_duration_seconds_bucket\{[^}]*\}\[5m\]\)\)\)$/.exec(t.expr ?? '')?.[1]),
      ['0.5', '0.9', '0.99'],
    );
  });

  test('every PromQL expression parses (promtool, Grafana variables substituted)', { skip: PROMTOOL_MISSING }, (t: TestContext) => {
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((q) => q.expr ?? ''));
    assert.ok(exprs.length >= 20, `${exprs.length} expressions`);
    const dir = mkdtempSync(path.join(tmpdir(), 'm2pool-dashboard-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'dashboard-exprs.yml');
    // YAML is a superset of JSON: no YAML library needed to write a rules file.
    const rules = exprs.map((expr, i) => ({ record: `dashboard:expr_${i}`, expr: substitute(expr) }));
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
    const r = promtool(['check', 'rules', file]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, new RegExp(`SUCCESS: ${exprs.length} rules found`));
  });

  test('every m2pool metric the dashboard names is exported by the pool (or planned by issues 9 and 14)', async () => {
    const exported = await exportedMetricNames();
    const used = metricNamesIn(read(DASHBOARD));
    assert.ok(used.size >= 15, `${used.size} metric names`);
    for (const name of used) assert.ok(exported.has(name) || PLANNED_METRICS.has(name), `dashboard uses unknown metric ${name}`);
  });

  test('dashboards/m2pool.json is what dashboards/m2pool.dashboard.ts (typed by @grafana/schema) generates', () => {
    assert.equal(read(DASHBOARD), dashboardJson(), 'run npm run dashboards');
  });

  test('has the rows of issue 10: RED, saturation, lifecycle, Mongrel2 links', () => {
    const rows = allPanels(dashboard.panels).filter((p) => p.type === 'row').map((p) => p.title);
    assert.deepEqual(rows, ['Requests (RED: rate, errors, duration)', 'Saturation', 'Lifecycle', 'Mongrel2 links', 'Supervisor']);
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')).join('\n');
    for (const metric of ['m2pool_utilization_ratio', 'm2pool_queue_wait_seconds_bucket', 'm2pool_requests_in_flight', 'm2pool_worker_event_loop_lag_seconds', 'm2pool_workers', 'm2pool_worker_restarts_total', 'm2pool_slot_crashloop', 'm2pool_mongrel2_endpoints_connected']) {
      assert.match(exprs, new RegExp(`\\b${metric}\\{`), metric);
    }
  });

  test('panels do not overlap on the grid', () => {
    const cells = new Set<string>();
    for (const p of allPanels(dashboard.panels) as Array<Panel & { gridPos?: { x: number; y: number; w: number; h: number } }>) {
      const g = p.gridPos;
      assert.ok(g !== undefined && g.x + g.w <= 24, p.title);
      for (let x = g.x; x < g.x + g.w; x++) for (let y = g.y; y < g.y + g.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
  });

  test('provisioning files are where Grafana reads them: provisioning/datasources/ and provisioning/dashboards/', () => {
    // Grafana reads <provisioning>/datasources/*.yaml and <provisioning>/dashboards/*.yaml, nothing at the top.
    const datasources = read(path.join(REPO_ROOT, 'dashboards', 'provisioning', 'datasources', 'm2pool.yaml'));
    const providers = read(path.join(REPO_ROOT, 'dashboards', 'provisioning', 'dashboards', 'm2pool.yaml'));
    assert.deepEqual(readdirSync(path.join(REPO_ROOT, 'dashboards', 'provisioning')).sort(), ['dashboards', 'datasources']);
    // The provider's path is where the README mounts the dashboards/ folder (which holds m2pool.json).
    const providerPath = /^ {6}path: (\S+)$/m.exec(providers)?.[1];
    assert.ok(providerPath !== undefined);
    assert.ok(read(path.join(REPO_ROOT, 'dashboards', 'README.md')).includes(`-v "$PWD/dashboards:${providerPath}:ro"`), providerPath);
    assert.match(datasources, /^apiVersion: 1$/m);
    assert.match(datasources, /^ {4}type: prometheus$/m);
    assert.match(providers, /^apiVersion: 1$/m);
    assert.match(providers, /^ {4}type: file$/m);
  });
});
