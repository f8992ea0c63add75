/**
 * The Grafana dashboards (dashboards/*.json) and the alert rules file, checked without Grafana
 * or Prometheus: structure Grafana needs to import them, the variables every etaops panel
 * filters by, one source of truth for the chart's copies, and the rule placeholders the chart
 * substitutes. Whether the queries return data is test/integration/observability.test.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ALERT_RULES_FILE, CHART_DASHBOARDS_DIR, DASHBOARDS_DIR, loadDashboards, panelsOf } from './dashboard-files.js';

/** Panel types Grafana 10/11 ships (core panels). */
const GRAFANA_PANEL_TYPES = new Set([
  'timeseries', 'stat', 'gauge', 'bargauge', 'table', 'heatmap', 'histogram', 'piechart', 'barchart', 'state-timeline',
  'status-history', 'text', 'row', 'logs', 'news', 'dashlist', 'alertlist', 'nodeGraph', 'traces', 'flamegraph',
  'candlestick', 'xychart', 'trend', 'geomap', 'canvas', 'datagrid',
]);
/** Variables a query may use: the dashboard's own plus Grafana's built-ins. */
const BUILTIN_VARIABLES = new Set(['__rate_interval', '__interval', '__interval_ms', '__range', '__range_s', '__range_ms', '__from', '__to']);
/** Metrics exported per predictor or per etaops object: their panels must follow the variables. */
const PER_MODEL_METRIC = /\b(etaops_(?!controller_)[a-z0-9_]+|process_[a-z_]+)\s*\{/g;

const dashboards = loadDashboards();

test('dashboards/ holds the serving and model-health dashboards', () => {
  assert.deepEqual(dashboards.map((d) => d.file).sort(), ['model-health.json', 'serving.json']);
  const uids = dashboards.map((d) => d.json.uid);
  assert.equal(new Set(uids).size, uids.length, 'dashboard uids are unique');
});

for (const { file, json } of dashboards) {
  test(`${file}: title, uid, schemaVersion and the datasource, namespace and model variables`, () => {
    assert.ok(typeof json.title === 'string' && json.title.length > 0);
    assert.match(String(json.uid), /^[a-zA-Z0-9_-]{1,40}$/, 'Grafana uids are at most 40 characters');
    assert.ok(Number.isInteger(json.schemaVersion) && json.schemaVersion >= 36, 'schemaVersion of a current Grafana');
    const vars = new Map(json.templating.list.map((v) => [v.name, v]));
    const ds = vars.get('datasource');
    assert.ok(ds, 'a datasource variable, so the dashboard works with any Prometheus data source name');
    assert.equal(ds.type, 'datasource');
    assert.equal(ds.query, 'prometheus');
    for (const name of ['namespace', 'model']) {
      const v = vars.get(name);
      assert.ok(v, `a ${name} variable`);
      assert.equal(v.type, 'query');
      assert.deepEqual(v.datasource, { type: 'prometheus', uid: '${datasource}' });
      assert.match(String(v.definition), new RegExp(`^label_values\\(.+, ${name}\\)$`));
      assert.equal(v.includeAll, true);
      assert.equal(v.allValue, '.*', 'All must be a regex, since panels filter with =~');
    }
    assert.match(String(vars.get('model')!.definition), /namespace=~"\$namespace"/, 'the model list follows the namespace choice');
  });

  test(`${file}: panels have known types, unique ids, a gridPos inside 24 columns, no overlaps`, () => {
    const panels = panelsOf(json);
    assert.ok(panels.length >= 8, 'a real dashboard');
    const ids = panels.map((p) => p.id);
    assert.ok(ids.every((id) => Number.isInteger(id) && id > 0), 'integer ids');
    assert.equal(new Set(ids).size, ids.length, `unique panel ids: ${ids.join(',')}`);
    const cells = new Map<string, string>();
    for (const p of panels) {
      assert.ok(GRAFANA_PANEL_TYPES.has(p.type), `panel ${p.id} "${p.title}": type ${p.type} is not a Grafana panel`);
      assert.ok(typeof p.title === 'string' && p.title.length > 0, `panel ${p.id} has a title`);
      const g = p.gridPos;
      assert.ok(g && [g.x, g.y, g.w, g.h].every((n) => Number.isInteger(n) && n >= 0), `panel ${p.id} has a gridPos`);
      assert.ok(g.w > 0 && g.h > 0 && g.x + g.w <= 24, `panel ${p.id} fits the 24-column grid`);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const other = cells.get(`${x},${y}`);
          assert.equal(other, undefined, `panel ${p.id} overlaps panel ${other}`);
          cells.set(`${x},${y}`, String(p.id));
        }
      }
    }
  });

  test(`${file}: every query panel uses the datasource variable; every target has refId and expr`, () => {
    const names = new Set(json.templating.list.map((v) => v.name));
    for (const p of panelsOf(json)) {
      if (p.type === 'row' || p.type === 'text') continue;
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `panel ${p.id} datasource`);
      assert.ok(Array.isArray(p.targets) && p.targets.length > 0, `panel ${p.id} "${p.title}" has targets`);
      const refIds = p.targets.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `panel ${p.id}: refIds are unique`);
      for (const t of p.targets) {
        assert.match(String(t.refId), /^[A-Z]$/, `panel ${p.id}: refId`);
        assert.ok(typeof t.expr === 'string' && t.expr.trim().length > 0, `panel ${p.id} ${t.refId}: expr`);
        for (const [, v] of t.expr.matchAll(/\$\{?([A-Za-z_]+)/g)) {
          assert.ok(names.has(v) || BUILTIN_VARIABLES.has(v), `panel ${p.id} ${t.refId}: unknown variable $${v}`);
        }
        assert.doesNotMatch(t.expr, /\[\d+[smhd]\]/, `panel ${p.id} ${t.refId}: a fixed rate window; use $__rate_interval`);
        // Every selector of a per-model metric filters by both variables.
        for (const m of t.expr.matchAll(PER_MODEL_METRIC)) {
          const selector = t.expr.slice(m.index!, t.expr.indexOf('}', m.index!) + 1);
          assert.match(selector, /namespace=~"\$namespace"/, `panel ${p.id} ${t.refId}: ${selector} ignores $namespace`);
          assert.match(selector, /model=~"\$model"/, `panel ${p.id} ${t.refId}: ${selector} ignores $model`);
        }
      }
    }
  });
}

test('charts/etaops/dashboards is a byte-identical copy of dashboards/ (make dashboards copies)', () => {
  const src = readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json')).sort();
  const chart = readdirSync(CHART_DASHBOARDS_DIR).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(chart, src, 'the same dashboard files');
  for (const f of src) {
    assert.ok(readFileSync(`${DASHBOARDS_DIR}/${f}`).equals(readFileSync(`${CHART_DASHBOARDS_DIR}/${f}`)), `${f} differs from the chart's copy: run make dashboards`);
  }
});

test('alert rules: each has a name, expr, severity and summary; every placeholder is one the chart substitutes', () => {
  const rules = parse(readFileSync(ALERT_RULES_FILE, 'utf8')) as Array<Record<string, unknown>>;
  assert.ok(Array.isArray(rules) && rules.length >= 6);
  const names = rules.map((r) => r.alert);
  assert.equal(new Set(names).size, names.length, 'unique alert names');
  for (const want of ['EtaopsControllerReconcileErrors', 'EtaopsTrainingRunFailed', 'EtaopsPredictorErrorRate', 'EtaopsPredictorLatencyHigh', 'EtaopsDataDriftDetected', 'EtaopsDriftCheckStale']) {
    assert.ok(names.includes(want), `alert ${want}`);
  }
  for (const r of rules) {
    assert.match(String(r.alert), /^Etaops[A-Za-z]+$/);
    assert.ok(typeof r.expr === 'string' && r.expr.trim().length > 0, `${String(r.alert)}: expr`);
    assert.match(String((r.labels as Record<string, unknown>)?.severity), /^(warning|critical)$/, `${String(r.alert)}: severity`);
    assert.ok(typeof (r.annotations as Record<string, unknown>)?.summary === 'string', `${String(r.alert)}: summary`);
  }
  const template = readFileSync(new URL('../../../charts/etaops/templates/prometheusrule.yaml', import.meta.url), 'utf8');
  const substituted = new Set([...template.matchAll(/replace "(__[A-Z0-9_]+__)"/g)].map((m) => m[1]));
  const used = new Set([...readFileSync(ALERT_RULES_FILE, 'utf8').matchAll(/__[A-Z0-9_]+__/g)].map((m) => m[0]));
  for (const p of used) assert.ok(substituted.has(p), `placeholder ${p} is not replaced by templates/prometheusrule.yaml`);
});
