/**
 * The Helm chart, checked by the real helm (built from its Go module by hack/build-binaries.sh)
 * and the real kube-apiserver of hack/cluster.sh:
 * - `helm lint --strict` and `helm template` with the default values and with
 *   charts/etaops/ci/full-values.yaml (every toggle on);
 * - what the rendered objects promise: restricted security context, probes on declared ports,
 *   resources, replicas with leader election, RBAC identical to manifests/rbac, monitors that
 *   select what really exists (the predictor pods' labels come from the controller's own code);
 * - values.schema.json refusing bad values, each with the field named;
 * - manifests/install.yaml being what hack/render-install.sh renders now;
 * - every rendered object applied with `kubectl apply --dry-run=server --validate=strict` into a
 *   namespace that enforces the restricted Pod Security Standard, with the Prometheus Operator's
 *   real CRDs (from its Go module, hack/prometheus-operator-crds.sh) installed.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { buildDeployment } from '../../src/controller/modelversion.js';
import { configFromEnv } from '../../src/controller/config.js';
import type { ModelVersion } from '../../src/api/index.js';
import { CLUSTER_SKIP, HELM, HELM_SKIP, kubectl, repoPath, run, runOk } from './packaging-helpers.js';
import { uniqueNamespace } from './controller-helpers.js';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Rendered manifests are checked field by field below; their shapes vary by kind.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [k: string]: any;
}

const CHART = repoPath('charts/etaops');
const FULL_VALUES = repoPath('charts/etaops/ci/full-values.yaml');

function renderText(args: string[], ns = 'etaops-system'): string {
  return runOk(HELM, ['template', 'etaops', CHART, '--namespace', ns, ...args]);
}

function objects(yamlText: string): Obj[] {
  return parseAllDocuments(yamlText).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => !!o);
}

const find = (objs: Obj[], kind: string, name?: string) => objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const one = (objs: Obj[], kind: string, name?: string) => {
  const found = find(objs, kind, name);
  assert.equal(found.length, 1, `exactly one ${kind}${name ? ` ${name}` : ''} (found ${found.length})`);
  return found[0];
};
const subsetOf = (a: Record<string, string>, b: Record<string, string> | undefined) => Object.entries(a).every(([k, v]) => b?.[k] === v);

/** The restricted Pod Security Standard, field by field, for one pod template. */
function assertRestricted(podSpec: Obj['spec'], where: string): void {
  assert.equal(podSpec.securityContext?.runAsNonRoot, true, `${where}: pod runAsNonRoot`);
  assert.equal(podSpec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp RuntimeDefault`);
  for (const c of podSpec.containers) {
    const sc = c.securityContext ?? {};
    assert.equal(sc.allowPrivilegeEscalation, false, `${where}/${c.name}: allowPrivilegeEscalation false`);
    assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${where}/${c.name}: drops ALL capabilities`);
    assert.equal(sc.readOnlyRootFilesystem, true, `${where}/${c.name}: read-only root filesystem`);
    assert.ok(typeof sc.runAsUser === 'number' && sc.runAsUser > 0, `${where}/${c.name}: numeric non-root user`);
  }
}

describe('helm chart', { skip: HELM_SKIP }, () => {
  let defaults: Obj[] = [];
  let full: Obj[] = [];
  before(() => {
    defaults = objects(renderText([]));
    full = objects(renderText(['-f', FULL_VALUES]));
  });

  test('helm lint --strict passes with the default values and with every toggle on', () => {
    for (const extra of [[], ['-f', FULL_VALUES]]) {
      const r = run(HELM, ['lint', '--strict', CHART, ...extra]);
      assert.equal(r.status, 0, `helm lint ${extra.join(' ')}:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  test('default values: a restricted, probed, sized controller with leader election on every replica', () => {
    const d = one(defaults, 'Deployment', 'etaops-controller');
    assert.equal(d.spec.replicas, 2, 'two replicas by default: one leader, one warm standby');
    const pod = d.spec.template.spec;
    assertRestricted(pod, 'controller');
    const c = pod.containers[0];
    assert.deepEqual(c.args.slice(0, 1), ['controller']);
    assert.ok(!c.args.includes('--no-leader-elect'), 'leader election stays on with several replicas');
    assert.ok(c.args.includes('--bind=0.0.0.0'), 'probes and scrapes reach the pod IP (the controller binds loopback by default)');
    const port = c.ports.find((p: { name: string }) => p.name === 'metrics');
    assert.ok(c.args.includes(`--port=${port.containerPort}`), 'the controller listens on the declared metrics port');
    for (const [probe, pathWanted] of [['livenessProbe', '/healthz'], ['readinessProbe', '/readyz'], ['startupProbe', '/healthz']]) {
      assert.equal(c[probe]?.httpGet?.path, pathWanted, `${probe} path`);
      assert.equal(c[probe]?.httpGet?.port, 'metrics', `${probe} targets the named port`);
    }
    assert.ok(c.env.some((e: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }) => e.name === 'POD_NAMESPACE' && e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace'), 'the Lease lives in the release namespace');
    assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory, 'requests and a memory limit');
    assert.ok(pod.volumes.some((v: { name: string; emptyDir?: object }) => v.name === 'tmp' && v.emptyDir) && c.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/tmp'), '/tmp is writable');
    assert.equal(pod.serviceAccountName, 'etaops-controller');
    assert.ok(!JSON.stringify(d).includes('secretKeyRef'), 'no Secret is referenced unless one is configured');
    one(defaults, 'PodDisruptionBudget', 'etaops-controller');
    for (const kind of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'NetworkPolicy', 'ConfigMap']) assert.equal(find(defaults, kind).length, 0, `${kind} is off by default`);
  });

  test('full values: every toggle renders its object, wired to what it selects', () => {
    const d = one(full, 'Deployment', 'etaops-controller');
    assert.equal(d.spec.replicas, 3);
    const c = d.spec.template.spec.containers[0];
    const secretRefs = c.env.filter((e: { valueFrom?: { secretKeyRef?: object } }) => e.valueFrom?.secretKeyRef).map((e: { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } }) => `${e.name}=${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
    assert.deepEqual(secretRefs.sort(), ['AWS_ACCESS_KEY_ID=etaops-s3/AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY=etaops-s3/AWS_SECRET_ACCESS_KEY', 'ETAOPS_DATABASE_URL=etaops-postgres/DATABASE_URL']);
    assert.ok(c.env.some((e: { name: string; value?: string }) => e.name === 'ETAOPS_ARTIFACT_SECRET' && e.value === 'etaops-s3'), 'Jobs and predictors get the same S3 Secret');
    assert.ok(c.env.some((e: { name: string; value?: string }) => e.name === 'ETAOPS_PREDICTION_LOG_SECRET' && e.value === 'etaops-postgres'), 'predictors log predictions to the registry database');
    assert.ok(!/etaopstest|secret-key/i.test(JSON.stringify(full.filter((o) => o.kind !== 'ConfigMap' && o.kind !== 'PrometheusRule'))), 'no credential value in any object');

    const sa = one(full, 'ServiceAccount', 'etaops-controller');
    assert.equal(sa.metadata.annotations?.['eks.amazonaws.com/role-arn'], 'arn:aws:iam::123456789012:role/etaops-controller', 'IRSA on the controller');
    const jobSa = one(full, 'ServiceAccount', 'etaops-job');
    assert.equal(jobSa.metadata.annotations?.['eks.amazonaws.com/role-arn'], 'arn:aws:iam::123456789012:role/etaops-job', 'IRSA on the Jobs');
    assert.equal(jobSa.automountServiceAccountToken, false, 'Jobs get no API token');

    const svc = one(full, 'Service', 'etaops-controller-metrics');
    const sm = one(full, 'ServiceMonitor');
    assert.ok(subsetOf(sm.spec.selector.matchLabels, svc.metadata.labels), 'the ServiceMonitor selects the metrics Service');
    assert.ok(svc.spec.ports.some((p: { name: string }) => p.name === sm.spec.endpoints[0].port), 'by a port name the Service has');
    assert.equal(sm.metadata.labels?.release, 'kube-prometheus-stack');

    // The predictor Deployment exactly as the controller builds it.
    const mv = { apiVersion: 'etaops.io/v1alpha1', kind: 'ModelVersion', metadata: { name: 'm-v1', namespace: 'x' }, spec: { model: 'm', version: 1, stage: 'Production', artifact: { uri: 's3://b/m/1', sha256: 'a'.repeat(64) } } } as unknown as ModelVersion;
    const predictor = buildDeployment(mv, configFromEnv({}), 'img');
    const pm = one(full, 'PodMonitor');
    assert.ok(subsetOf(pm.spec.selector.matchLabels, predictor.spec!.template.metadata!.labels), `the PodMonitor selects the controller's predictor pods (${JSON.stringify(predictor.spec!.template.metadata!.labels)})`);
    assert.ok(predictor.spec!.template.spec!.containers[0].ports!.some((p) => p.name === pm.spec.podMetricsEndpoints[0].port), 'by a port name the predictor has');
    assert.deepEqual(pm.spec.namespaceSelector, { any: true }, 'predictors live in the models\' namespaces');

    const rule = one(full, 'PrometheusRule');
    assert.ok(rule.spec.groups[0].rules.length >= 5, 'the alert rules are in');
    assert.ok(!JSON.stringify(rule).includes('__'), 'every threshold placeholder is replaced');

    const dashboards = find(full, 'ConfigMap').filter((m) => m.metadata.labels?.grafana_dashboard === '1');
    assert.ok(dashboards.length >= 2, 'a ConfigMap per dashboard for the Grafana sidecar');
    for (const m of dashboards) for (const v of Object.values(m.data as Record<string, string>)) JSON.parse(v);

    const np = one(full, 'NetworkPolicy');
    assert.ok(subsetOf(np.spec.podSelector.matchLabels, d.spec.template.metadata.labels), 'the NetworkPolicy selects the controller pods');
    assert.equal(np.spec.ingress[0].ports[0].port, c.ports[0].containerPort);
    assert.equal(one(full, 'PodDisruptionBudget').spec.minAvailable, 1);
    assert.deepEqual(d.spec.template.spec.imagePullSecrets, [{ name: 'ecr-pull' }]);
  });

  test('RBAC: the chart grants exactly what manifests/rbac/controller.yaml grants', () => {
    const manual = objects(readFileSync(repoPath('manifests/rbac/controller.yaml'), 'utf8'));
    for (const kind of ['ClusterRole', 'Role']) {
      assert.deepEqual(one(defaults, kind).rules, one(manual, kind).rules, `${kind} rules`);
    }
    const lease = one(defaults, 'Role').rules.find((r: { resourceNames?: string[] }) => r.resourceNames);
    assert.deepEqual(lease.resourceNames, ['etaops-controller'], "the controller's default Lease name");
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      const b = one(defaults, kind);
      assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: 'etaops-controller', namespace: 'etaops-system' }], `${kind} binds the controller's ServiceAccount`);
    }
  });

  // Each row: a bad value, and the field helm must name in its refusal.
  const BAD_VALUES: Array<[string, string[], string]> = [
    ['zero controller replicas', ['--set', 'controller.replicas=0'], '/controller/replicas'],
    ['a misspelt top-level key', ['--set', 'controler.replicas=2'], 'controler'],
    ['an unknown pull policy', ['--set', 'image.pullPolicy=Sometimes'], '/image/pullPolicy'],
    ['an artifact root that is not s3:// or file://', ['--set', 'artifacts.root=gs://bucket/models'], '/artifacts/root'],
    ['an S3 endpoint without a scheme', ['--set', 'artifacts.s3.endpoint=minio:9000'], '/artifacts/s3/endpoint'],
    ['a scrape interval in words', ['--set', 'metrics.serviceMonitor.interval=thirty seconds'], '/metrics/serviceMonitor/interval'],
    ['an error ratio above 1', ['--set', 'metrics.prometheusRule.predictorErrorRatio=5'], '/metrics/prometheusRule/predictorErrorRatio'],
    ['a Job ServiceAccount name Kubernetes refuses', ['--set', 'jobs.serviceAccount.name=Etaops_Job'], '/jobs/serviceAccount/name'],
    ['an IRSA annotation that is not a role ARN', ['--set-string', 'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=my-role'], '/serviceAccount/annotations/eks.amazonaws.com~1role-arn'],
    ['a memory request that is not a quantity', ['--set', 'controller.resources.requests.memory=lots'], '/controller/resources/requests/memory'],
    ['a metrics port below 1024 (non-root cannot bind it)', ['--set', 'controller.metricsPort=80'], '/controller/metricsPort'],
  ];

  test('values.schema.json refuses bad values and names the field', () => {
    for (const [what, args, field] of BAD_VALUES) {
      const r = run(HELM, ['template', 'etaops', CHART, ...args]);
      assert.notEqual(r.status, 0, `${what}: helm accepted ${args.join(' ')}`);
      assert.match(r.stderr, /values don't meet the specifications of the schema/, `${what}: refused by the schema, not something else:\n${r.stderr}`);
      assert.ok(r.stderr.includes(field), `${what}: the error names ${field}:\n${r.stderr}`);
    }
    // The same flags with good values pass, so the refusals above are the values' doing.
    runOk(HELM, ['template', 'etaops', CHART, '--set', 'controller.replicas=1', '--set', 'artifacts.root=s3://bucket/models', '--set-string', 'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/x']);
  });

  test('manifests/install.yaml is the chart as rendered now (make install-manifest regenerates it)', () => {
    const fresh = runOk(repoPath('hack/render-install.sh'), [], { env: { ...process.env, HELM } });
    const committed = readFileSync(repoPath('manifests/install.yaml'), 'utf8');
    assert.ok(committed === fresh, 'manifests/install.yaml is stale: run `make install-manifest` and commit it');
    const objs = objects(committed);
    assert.equal(objs[0].kind, 'Namespace');
    assert.equal(objs[0].metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    assert.equal(find(objs, 'CustomResourceDefinition').length, 3, 'the three CRDs are included');
    assert.ok(objs.filter((o) => o.metadata.namespace).every((o) => o.metadata.namespace === 'etaops-system'));
  });

  describe('server-side dry run against the local kube-apiserver', { skip: CLUSTER_SKIP }, () => {
    const ns = uniqueNamespace('etaops-chart-test');
    before(() => {
      const crdDir = runOk(repoPath('hack/prometheus-operator-crds.sh'), []).trim();
      const crds = kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=etaops-chart-test', '-f', crdDir]);
      assert.equal(crds.status, 0, crds.stderr);
      for (const name of ['servicemonitors', 'podmonitors', 'prometheusrules']) {
        const w = kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${name}.monitoring.coreos.com`]);
        assert.equal(w.status, 0, w.stderr);
      }
      const nsYaml = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' } } });
      const created = kubectl(['create', '-f', '-'], nsYaml);
      assert.equal(created.status, 0, created.stderr);
    });
    after(() => {
      kubectl(['delete', 'namespace', ns, '--wait=false']);
    });

    const dryRun = (yamlText: string) => kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], yamlText);

    for (const [name, args] of [['default values', []], ['full values', ['-f', FULL_VALUES]]] as const) {
      test(`${name}: every object is accepted, and no pod template violates the restricted standard`, () => {
        const text = renderText([...args, '--include-crds'], ns);
        const r = dryRun(text);
        assert.equal(r.status, 0, `kubectl apply --dry-run=server:\n${r.stderr}`);
        const applied = r.stdout.split('\n').filter((l) => /\(server dry run\)$/.test(l));
        assert.equal(applied.length, objects(text).length, `one line per object:\n${r.stdout}`);
        assert.doesNotMatch(r.stderr, /would violate PodSecurity/, r.stderr);
      });
    }

    test('control: the same namespace warns about a pod template that is not restricted', () => {
      const loose = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'loose', namespace: ns }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } };
      const r = dryRun(JSON.stringify(loose));
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /would violate PodSecurity "restricted:latest"/);
    });

    test('control: the API server refuses a ServiceMonitor field its CRD does not define', () => {
      const sm = one(objects(renderText(['-f', FULL_VALUES], ns)), 'ServiceMonitor');
      sm.spec.endpoints[0].scrapeEvery = '30s';
      const r = dryRun(JSON.stringify(sm));
      assert.notEqual(r.status, 0, 'an unknown field must be refused (strict field validation against the real CRD schema)');
      assert.match(r.stderr, /scrapeEvery/);
    });
  });
});

test("the chart's CRDs are the generated ones in crds/ (make crds writes both)", () => {
  const generated = readdirSync(repoPath('crds')).filter((f) => f.endsWith('.yaml')).sort();
  assert.deepEqual(readdirSync(repoPath('charts/etaops/crds')).sort(), generated);
  for (const f of generated) assert.ok(readFileSync(repoPath('charts/etaops/crds', f), 'utf8') === readFileSync(repoPath('crds', f), 'utf8'), `charts/etaops/crds/${f} differs from crds/${f}`);
});

test('the full values file turns every toggle on', () => {
  const v = parse(readFileSync(FULL_VALUES, 'utf8')) as Record<string, Record<string, Record<string, { enabled?: boolean }> & { enabled?: boolean }>>;
  assert.equal(v.metrics.serviceMonitor.enabled, true);
  assert.equal(v.metrics.podMonitor.enabled, true);
  assert.equal(v.metrics.prometheusRule.enabled, true);
  assert.equal(v.grafana.dashboards.enabled, true);
  assert.equal(v.networkPolicy.enabled, true);
  assert.ok(v.postgres.existingSecret && (v.artifacts.s3 as unknown as { existingSecret: string }).existingSecret, 'existing Secrets for Postgres and S3');
});
