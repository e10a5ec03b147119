import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import { DEFAULTS } from '../../../src/config/schema';
import { loadConfig, prepareRunDir } from '../../../src/mongrel2/launcher';
import { RUNBOOK_BASE } from '../metrics/support';
import { REPO_ROOT, readRepoFile, runTool, yamlDocuments } from './support';

const K8S = path.join(REPO_ROOT, 'deploy', 'kubernetes');
const OVERLAYS = readdirSync(path.join(K8S, 'overlays')).sort();
const KUBECTL = '/usr/bin/kubectl';
// M2POOL_TEST_NO_KUBECTL=1 exercises the fallback where kubectl is installed.
const RENDERER = existsSync(KUBECTL) && process.env['M2POOL_TEST_NO_KUBECTL'] === undefined ? 'kubectl kustomize' : null;
const M2SH_MISSING = existsSync('/usr/bin/m2sh') ? false : '/usr/bin/m2sh not found: apt-get install mongrel2-core';
/** Secrets the production overlays expect to be created out of band (docs/deploying.md). */
const EXTERNAL_SECRETS = ['m2pool-secrets'];

// Untyped rendered objects: every access goes through these small readers.
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const at = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => obj(v)[k], o);
const labelsOf = (o: unknown): Record<string, string> => obj(o) as Record<string, string>;
const kindName = (o: Obj): string => `${str(o['kind'])}/${str(at(o, 'metadata', 'name'))}`;

/** `selector` (a matchLabels map) selects `labels`. */
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** Render an overlay (of the repository's deploy/kubernetes, or of a copy at `root`) with kubectl kustomize. */
function render(overlay: string, root = K8S): Obj[] {
  const r = runTool(KUBECTL, ['kustomize', path.join(root, 'overlays', overlay)]);
  assert.equal(r.status, 0, r.output);
  return yamlDocuments(r.stdout, overlay).map(obj);
}

/** Without kubectl: the base's resource files loaded as YAML (no overlay, no generators). */
function loadBase(): Obj[] {
  const kustomization = obj(yamlDocuments(readRepoFile('deploy', 'kubernetes', 'base', 'kustomization.yaml'), 'base')[0]);
  return (at(kustomization, 'resources') as string[]).flatMap((f) => yamlDocuments(readRepoFile('deploy', 'kubernetes', 'base', f), f).map(obj));
}

/** A model class with `validate()`, loaded from the ESM-only kubernetes-models packages. */
type ModelClass = new (data: Obj) => { validate(): void };

async function modelClasses(): Promise<Map<string, ModelClass>> {
  const core = await import('kubernetes-models/v1');
  const apps = await import('kubernetes-models/apps/v1');
  const policy = await import('kubernetes-models/policy/v1');
  const autoscaling = await import('kubernetes-models/autoscaling/v2');
  const keda = await import('@kubernetes-models/keda/keda.sh/v1alpha1');
  const monitoring = await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1');
  const entries: Array<[string, unknown]> = [
    ['v1/ConfigMap', core.ConfigMap],
    ['v1/Secret', core.Secret],
    ['v1/Service', core.Service],
    ['apps/v1/Deployment', apps.Deployment],
    ['policy/v1/PodDisruptionBudget', policy.PodDisruptionBudget],
    ['autoscaling/v2/HorizontalPodAutoscaler', autoscaling.HorizontalPodAutoscaler],
    ['keda.sh/v1alpha1/ScaledObject', keda.ScaledObject],
    ['monitoring.coreos.com/v1/PodMonitor', monitoring.PodMonitor],
    ['monitoring.coreos.com/v1/ServiceMonitor', monitoring.ServiceMonitor],
    ['monitoring.coreos.com/v1/PrometheusRule', monitoring.PrometheusRule],
  ];
  return new Map(entries.map(([k, c]) => [k, c as ModelClass]));
}

const containersOf = (d: Obj): Obj[] => arr(at(d, 'spec', 'template', 'spec', 'containers'));
const podLabels = (d: Obj): Record<string, string> => labelsOf(at(d, 'spec', 'template', 'metadata', 'labels'));
const portNames = (cs: Obj[]): Set<string> => new Set(cs.flatMap((c) => arr(c['ports']).flatMap((p) => [str(p['name']), str(p['containerPort'])])));

/** Every check of one rendered overlay (or of the base when kubectl is missing). */
function checkCrossReferences(objects: Obj[], where: string, complete: boolean): void {
  const byKind = (k: string): Obj[] => objects.filter((o) => o['kind'] === k);
  const deployments = byKind('Deployment');
  const services = byKind('Service');
  const names = (k: string): Set<string> => new Set(byKind(k).map((o) => str(at(o, 'metadata', 'name'))));
  const matchOne = (selector: Record<string, string>, what: string): Obj => {
    const hit = deployments.filter((d) => selects(selector, podLabels(d)));
    assert.equal(hit.length, 1, `${where}: ${what} selects ${hit.length} deployments`);
    return hit[0] ?? {};
  };

  for (const o of objects) {
    const labels = labelsOf(at(o, 'metadata', 'labels'));
    if (complete) assert.equal(labels['app.kubernetes.io/part-of'], 'm2pool', `${where}: ${kindName(o)} part-of label`);
  }
  for (const d of deployments) {
    const labels = podLabels(d);
    assert.ok(selects(labelsOf(at(d, 'spec', 'selector', 'matchLabels')), labels), `${where}: ${kindName(d)} selector vs pod labels`);
    for (const k of ['app.kubernetes.io/name', 'app.kubernetes.io/component']) assert.ok(labels[k], `${where}: ${kindName(d)} pod label ${k}`);
    const grace = Number(at(d, 'spec', 'template', 'spec', 'terminationGracePeriodSeconds'));
    assert.ok(grace * 1000 > DEFAULTS.shutdownTimeoutMs && grace * 1000 > DEFAULTS.drainTimeoutMs, `${where}: ${kindName(d)} grace ${grace}s must exceed the drain budget`);
    for (const c of containersOf(d)) {
      const ports = portNames([c]);
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const p = obj(c[probe]);
        if (Object.keys(p).length === 0) continue;
        const port = str(at(p, 'httpGet', 'port')) || str(at(p, 'tcpSocket', 'port'));
        assert.ok(ports.has(port), `${where}: ${kindName(d)} ${str(c['name'])} ${probe} port ${port} is not a container port`);
      }
      // Every workload is probed for readiness and liveness.
      assert.ok(c['readinessProbe'] && c['livenessProbe'], `${where}: ${kindName(d)} ${str(c['name'])} probes`);
    }
    const podSpec = obj(at(d, 'spec', 'template', 'spec'));
    const secretRefs = [
      ...arr(podSpec['volumes']).map((v) => str(at(v, 'secret', 'secretName'))).filter(Boolean),
      ...arr(podSpec['containers']).flatMap((c) => arr(c['env']).map((e) => str(at(e, 'valueFrom', 'secretKeyRef', 'name')))).filter(Boolean),
    ];
    const configMapRefs = arr(podSpec['volumes']).map((v) => str(at(v, 'configMap', 'name'))).filter(Boolean);
    for (const s of secretRefs) {
      if (names('Secret').has(s)) continue;
      assert.ok(!complete || EXTERNAL_SECRETS.includes(s), `${where}: ${kindName(d)} references Secret ${s}, which is neither rendered nor documented as external`);
    }
    if (complete) for (const c of configMapRefs) assert.ok(names('ConfigMap').has(c), `${where}: ${kindName(d)} references missing ConfigMap ${c}`);
  }
  for (const s of services) {
    const d = matchOne(labelsOf(at(s, 'spec', 'selector')), kindName(s));
    const ports = portNames(containersOf(d));
    for (const p of arr(at(s, 'spec', 'ports'))) assert.ok(ports.has(str(p['targetPort'])), `${where}: ${kindName(s)} targetPort ${str(p['targetPort'])} is not a container port of ${kindName(d)}`);
  }
  for (const p of byKind('PodDisruptionBudget')) matchOne(labelsOf(at(p, 'spec', 'selector', 'matchLabels')), kindName(p));
  for (const m of byKind('PodMonitor')) {
    const d = matchOne(labelsOf(at(m, 'spec', 'selector', 'matchLabels')), kindName(m));
    for (const e of arr(at(m, 'spec', 'podMetricsEndpoints'))) assert.ok(portNames(containersOf(d)).has(str(e['port'])), `${where}: ${kindName(m)} port ${str(e['port'])}`);
  }
  for (const m of byKind('ServiceMonitor')) {
    const svc = services.filter((s) => selects(labelsOf(at(m, 'spec', 'selector', 'matchLabels')), labelsOf(at(s, 'metadata', 'labels'))));
    assert.equal(svc.length, 1, `${where}: ${kindName(m)} selects ${svc.length} services`);
    const svcPorts = new Set(arr(at(svc[0], 'spec', 'ports')).map((p) => str(p['name'])));
    for (const e of arr(at(m, 'spec', 'endpoints'))) assert.ok(svcPorts.has(str(e['port'])), `${where}: ${kindName(m)} port ${str(e['port'])}`);
  }
  const scalers = [...byKind('ScaledObject'), ...byKind('HorizontalPodAutoscaler')];
  assert.ok(scalers.length <= 1, `${where}: ${scalers.map(kindName).join(' and ')} would fight over the replicas`);
  for (const s of scalers) {
    const target = obj(at(s, 'spec', 'scaleTargetRef'));
    const d = deployments.find((x) => str(at(x, 'metadata', 'name')) === str(target['name']));
    assert.ok(d !== undefined && str(target['kind'] ?? 'Deployment') === 'Deployment', `${where}: ${kindName(s)} targets a missing deployment`);
    assert.equal(podLabels(d)['app.kubernetes.io/component'], 'pool', `${where}: ${kindName(s)} must scale the pool`);
  }
  // The pool joins the front's dispatcher through the Service, on the port the Service publishes.
  const pool = deployments.find((d) => podLabels(d)['app.kubernetes.io/component'] === 'pool');
  const args = (containersOf(pool ?? {})[0]?.['args'] as string[] | undefined) ?? [];
  const endpoint = args[args.indexOf('--dispatcher') + 1] ?? '';
  const m = /^tcp:\/\/([a-z0-9-]+):(\d+)$/.exec(endpoint);
  assert.ok(m, `${where}: pool --dispatcher ${endpoint}`);
  const front = services.find((s) => str(at(s, 'metadata', 'name')) === m[1]);
  assert.ok(arr(at(front, 'spec', 'ports')).some((p) => str(p['port']) === m[2] && str(p['targetPort']) === 'dispatcher'), `${where}: ${endpoint} is not the dispatcher port of a Service`);
  for (const flag of ['--curve-server-key-file', '--curve-secret-file']) assert.ok(args.includes(flag), `${where}: pool ${flag}`);
}

describe('Kubernetes manifests', () => {
  const renders = new Map<string, Obj[]>();
  let models: Map<string, ModelClass>;
  before(async () => {
    // The dev overlay's secrets are made at deploy time (never committed): make them as a deployer would.
    const made = runTool(process.execPath, [path.join(K8S, 'overlays', 'dev', 'make-dev-secrets.js')]);
    assert.equal(made.status, 0, made.output);
    models = await modelClasses();
    if (RENDERER === null) {
      // NOTE: without kubectl only the base is checked, as plain YAML: overlays, components and generators are not.
      console.log(`# ${KUBECTL} not used (missing or M2POOL_TEST_NO_KUBECTL): checking deploy/kubernetes/base loaded as YAML, overlays not rendered`);
      renders.set('base (YAML)', loadBase());
    } else for (const o of OVERLAYS) renders.set(o, render(o));
  });

  test('there are dev and production overlays and both autoscaler alternatives', () => {
    for (const o of ['dev', 'production', 'production-keda', 'production-hpa']) assert.ok(OVERLAYS.includes(o), o);
  });

  test('every rendered object is valid against its Kubernetes, KEDA or Prometheus Operator schema', () => {
    for (const [where, objects] of renders) {
      assert.ok(objects.length >= 8, `${where}: ${objects.length} objects`);
      for (const o of objects) {
        const Model = models.get(`${str(o['apiVersion'])}/${str(o['kind'])}`);
        assert.ok(Model, `${where}: no schema for ${str(o['apiVersion'])} ${kindName(o)}`);
        assert.doesNotThrow(() => new Model(o).validate(), (e: unknown) => `${where}: ${kindName(o)}: ${String(e)}`);
      }
    }
  });

  test('the checks catch a broken manifest (schema and cross-reference)', () => {
    const objects = structuredClone(renders.values().next().value ?? []);
    const d = objects.find((o) => o['kind'] === 'Deployment') ?? {};
    const bad = structuredClone(d);
    const container = containersOf(bad)[0] ?? {};
    container['ports'] = [{ containerPort: 'x' }];
    assert.throws(() => new (models.get('apps/v1/Deployment') as ModelClass)(bad).validate(), /containerPort must be integer/);
    obj(at(d, 'spec', 'template', 'spec'))['terminationGracePeriodSeconds'] = 30;
    assert.throws(() => checkCrossReferences(objects, 'mutated', RENDERER !== null), /must exceed the drain budget/);
  });

  test('cross-references hold: selectors, ports, probes, grace period, secrets, the scale target', () => {
    for (const [where, objects] of renders) checkCrossReferences(objects, where, RENDERER !== null);
  });

  test('dev generates its Secret; production expects it created out of band', { skip: RENDERER === null ? 'kubectl missing' : false }, () => {
    const secrets = (o: string): string[] => (renders.get(o) ?? []).filter((x) => x['kind'] === 'Secret').map((x) => str(at(x, 'metadata', 'name')));
    assert.equal(secrets('dev').length, 1);
    assert.match(secrets('dev')[0] ?? '', /^m2pool-secrets-/);
    for (const o of OVERLAYS.filter((n) => n.startsWith('production'))) assert.deepEqual(secrets(o), [], o);
  });

  test('KEDA scales on m2pool_utilization_ratio with metricType Value; the HPA on the same metric', { skip: RENDERER === null ? 'kubectl missing' : false }, () => {
    const so = (renders.get('production-keda') ?? []).find((o) => o['kind'] === 'ScaledObject');
    const trigger = arr(at(so, 'spec', 'triggers'))[0] ?? {};
    assert.equal(trigger['type'], 'prometheus');
    assert.equal(trigger['metricType'], 'Value');
    assert.match(str(at(trigger, 'metadata', 'query')), /^avg\(m2pool_utilization_ratio\{namespace="m2pool", job="m2pool\/m2pool-pool"\}\)$/);
    const hpa = (renders.get('production-hpa') ?? []).find((o) => o['kind'] === 'HorizontalPodAutoscaler');
    assert.equal(at(arr(at(hpa, 'spec', 'metrics'))[0], 'pods', 'metric', 'name'), 'm2pool_utilization_ratio');
    for (const o of ['dev', 'production']) assert.ok(!(renders.get(o) ?? []).some((x) => x['kind'] === 'ScaledObject' || x['kind'] === 'HorizontalPodAutoscaler'), o);
  });

  test('the PrometheusRule and the dashboard ConfigMap are the repository files', { skip: RENDERER === null ? 'kubectl missing' : false }, () => {
    const check = runTool(process.execPath, [path.join(K8S, 'generate.js'), '--check']);
    assert.equal(check.status, 0, check.output);
    const objects = renders.get('production') ?? [];
    const dashboard = objects.find((o) => o['kind'] === 'ConfigMap' && labelsOf(at(o, 'metadata', 'labels'))['grafana_dashboard'] === '1');
    assert.equal(str(at(dashboard, 'data', 'm2pool.json')), readRepoFile('dashboards', 'm2pool.json'));
    const rule = objects.find((o) => o['kind'] === 'PrometheusRule');
    const rules = obj(yamlDocuments(readRepoFile('deploy', 'prometheus', 'm2pool-rules.yml'), 'rules')[0]);
    assert.deepEqual(at(rule, 'spec', 'groups'), rules['groups']);
  });

  test('image and runbook links: the package version and the shipped runbook by default, set in overlays/production', { skip: RENDERER === null ? 'kubectl missing' : false }, (t: TestContext) => {
    const version = str(obj(JSON.parse(readRepoFile('package.json')))['version']);
    const imagesOf = (objects: Obj[]): string[] => objects.filter((o) => o['kind'] === 'Deployment').flatMap((d) => containersOf(d).map((c) => str(c['image'])));
    const runbooksOf = (objects: Obj[]): string[] =>
      arr(at(objects.find((o) => o['kind'] === 'PrometheusRule'), 'spec', 'groups')).flatMap((g) => arr(g['rules']).flatMap((r) => (r['alert'] === undefined ? [] : [str(at(r, 'annotations', 'runbook_url'))])));
    for (const [overlay, objects] of renders) {
      assert.deepEqual([...new Set(imagesOf(objects))], [`m2pool:${version}`], `${overlay}: the image built from deploy/container/Dockerfile, tagged with the package version`);
      const links = runbooksOf(objects);
      assert.ok(links.length > 0 && links.every((u) => u.startsWith(`${RUNBOOK_BASE}#`)), `${overlay}: ${links.join(', ')}`);
      assert.ok(!objects.some((o) => at(o, 'metadata', 'name') === 'm2pool-deploy-settings'), `${overlay}: the settings are local to kustomize, never applied`);
    }
    // An operator's copy: the two settings edited in overlays/production reach every overlay built on it.
    const copy = mkdtempSync(path.join(tmpdir(), 'm2pool-k8s-settings-'));
    t.after(() => rmSync(copy, { recursive: true, force: true }));
    cpSync(K8S, copy, { recursive: true });
    const prod = path.join(copy, 'overlays', 'production');
    const edit = (file: string, from: string, to: string): void => {
      const text = readFileSync(path.join(prod, file), 'utf8');
      assert.ok(text.includes(from), `${file} has ${from}`);
      writeFileSync(path.join(prod, file), text.replace(from, to));
    };
    edit('settings.yaml', `runbookBase: ${RUNBOOK_BASE}`, 'runbookBase: https://runbooks.test/m2pool');
    edit('kustomization.yaml', `newName: m2pool `, 'newName: registry.test/team/m2pool ');
    for (const overlay of ['production', 'production-keda', 'production-hpa']) {
      const objects = render(overlay, copy);
      assert.deepEqual([...new Set(imagesOf(objects))], [`registry.test/team/m2pool:${version}`], overlay);
      const links = runbooksOf(objects);
      assert.ok(links.every((u) => /^https:\/\/runbooks\.test\/m2pool#m2pool[a-z0-9]+$/.test(u)), `${overlay}: ${links.join(', ')}`);
    }
  });

  test("the pod's Mongrel2 config loads with m2sh and binds 0.0.0.0", { skip: M2SH_MISSING }, async (t: TestContext) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'm2pool-k8s-conf-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const conf = path.join(dir, 'in.conf');
    writeFileSync(conf, readRepoFile('deploy', 'kubernetes', 'base', 'mongrel2.conf'));
    await prepareRunDir(dir);
    assert.equal((await loadConfig(conf, dir, 6767)).length, 1);
    assert.match(readFileSync(path.join(dir, 'mongrel2.conf'), 'utf8'), /bind_addr="0\.0\.0\.0"/);
    // The front's dispatcher connects to the ipc sockets this config makes in the shared run directory.
    const front = readRepoFile('deploy', 'kubernetes', 'base', 'front.yaml');
    assert.match(front, /"--run-dir", "\/run\/m2pool\/mongrel2"/);
    assert.match(front, /- ipc:\/\/\/run\/m2pool\/mongrel2\/run\/requests\n/);
  });
});
