/* eslint-disable @typescript-eslint/no-explicit-any -- walking generated CRD JSON documents */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { renderAll } from '../../src/api/generate-crds.js';
import { CRON_PATTERN, KINDS, toCRD, type TrainingRunSpec, type ModelVersion } from '../../src/api/index.js';
import { s, type Infer } from '../../src/api/schema.js';

const repoFile = (name: string) => new URL(`../../../crds/${name}`, import.meta.url);

test('crds/*.yaml are exactly what src/api/v1alpha1.ts generates (run `make crds` when this fails)', () => {
  const expected = renderAll();
  assert.equal(expected.size, 3);
  for (const [name, text] of expected) {
    let onDisk = '';
    try { onDisk = readFileSync(repoFile(name), 'utf8'); } catch { assert.fail(`crds/${name} is missing: run make crds`); }
    assert.equal(onDisk, text, `crds/${name} is stale: run make crds`);
  }
});

test('every CRD has the status subresource, short name, category, printer columns and conditions', () => {
  const short = new Set<string>();
  for (const k of KINDS) {
    const crd = parse(JSON.stringify(toCRD(k as never))) as any;
    const v = crd.spec.versions[0];
    assert.deepEqual(v.subresources, { status: {} });
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.deepEqual(crd.spec.names.categories, ['etaops']);
    for (const n of crd.spec.names.shortNames) short.add(n);
    const cols = v.additionalPrinterColumns.map((c: { name: string }) => c.name);
    assert.ok(cols.includes('Model') && cols.includes('Age') && cols.includes('Phase'), `${k.kind} columns ${cols}`);
    const root = v.schema.openAPIV3Schema;
    assert.deepEqual(root.required, ['spec']);
    const cond = root.properties.status.properties.conditions;
    assert.equal(cond['x-kubernetes-list-type'], 'map');
    assert.deepEqual(cond.items.required.sort(), ['lastTransitionTime', 'message', 'reason', 'status', 'type']);
  }
  assert.deepEqual([...short].sort(), ['dc', 'mv', 'tr']);
});

test('defaults, enums and required fields come from the one definition', () => {
  const spec = (toCRD(KINDS[0] as never) as any).spec.versions[0].schema.openAPIV3Schema.properties.spec;
  assert.deepEqual(spec.required.sort(), ['dataset', 'model']);
  assert.equal(spec.properties.promotion.default && typeof spec.properties.promotion.default, 'object');
  assert.equal(spec.properties.promotion.properties.policy.default, 'auto');
  assert.deepEqual(spec.properties.promotion.properties.policy.enum, ['auto', 'manual']);
  assert.equal(spec.properties.backoffLimit.maximum, 10);
  const rules = spec.properties.dataset['x-kubernetes-validations'].map((r: { message: string }) => r.message);
  assert.ok(rules.some((m: string) => m.includes('exactly one of uri')));
  const mv = (toCRD(KINDS[1] as never) as any).spec.versions[0].schema.openAPIV3Schema.properties.spec;
  assert.deepEqual(mv.properties.stage.enum, ['Candidate', 'Production', 'Archived']);
  assert.equal(mv.properties.stage.default, 'Candidate');
  assert.ok(mv.properties.artifact['x-kubernetes-validations'].some((r: { rule: string }) => r.rule === 'self == oldSelf'));
});

test('Infer<> gives required, optional and defaulted fields the right TS shape', () => {
  const X = s.object({ a: s.string(), b: s.integer().optional(), c: s.enum(['x', 'y'] as const).default('x') });
  type X = Infer<typeof X>;
  const ok: X = { a: 'hi' };
  const full: X = { a: 'hi', b: 1, c: 'y' };
  // @ts-expect-error a is required
  const bad: X = { b: 1 };
  // @ts-expect-error c is an enum
  const bad2: X = { a: '', c: 'z' };
  void bad; void bad2;
  assert.deepEqual(X.toOpenAPI().required, ['a']);
  const spec: TrainingRunSpec = { model: 'eta', dataset: { uri: 's3://b/k.csv' } };
  const mv: Pick<ModelVersion, 'spec'> = { spec: { model: 'eta', version: 1, artifact: { uri: 's3://b/m', sha256: 'a'.repeat(64) } } };
  assert.ok(ok && full && spec && mv);
});

test('the cron pattern used by the CEL rule accepts cron and rejects garbage', () => {
  const re = new RegExp(CRON_PATTERN.replaceAll('\\\\', '\\'));
  for (const good of ['0 * * * *', '*/15 * * * *', '0 3 * * 1-5', '5,35 0-6/2 1 JAN MON', '@daily', '@hourly']) assert.ok(re.test(good), good);
  for (const bad of ['every hour', '* * * *', '* * * * * *', '@often', '', '0 * * * * ; rm']) assert.ok(!re.test(bad), bad);
});
