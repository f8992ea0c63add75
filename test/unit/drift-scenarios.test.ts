/**
 * Drift decisions on the real sample cut into scenarios (test/bench/drift/scenarios.ts): random
 * halves do not drift, markets 1–3 vs 4–6 do, the seed's fake-data noise moves the counts it
 * shifts by +2 on average, and two small random draws are not called drifted — where
 * Evidently's default rule flags several columns (shown side by side).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { buildScenarios, SAMPLE_PATH, type Scenario } from '../bench/drift/scenarios.js';
import { runDriftCheck, type DriftResult } from '../../src/drift/check.js';
import { driftColumnsOf } from '../../src/drift/columns.js';
import { profileFromColumns } from '../../src/drift/profile.js';
import { readDataset } from '../../src/ml/dataset/read.js';

const haveSample = existsSync(SAMPLE_PATH);
const drifted = (r: DriftResult): string[] => Object.keys(r.columns).filter((c) => r.columns[c].drifted);

describe('drift scenarios on the real sample', { skip: haveSample ? false : `${SAMPLE_PATH} not found (run from the repo root with shared/ beside it)` }, () => {
  let scenarios: Map<string, Scenario>;
  const check = (name: string, rule: 'etaops' | 'evidently' = 'etaops'): DriftResult => {
    const s = scenarios.get(name) as Scenario;
    return runDriftCheck({ data: driftColumnsOf(s.reference) }, driftColumnsOf(s.current), { rule });
  };

  test('build scenarios', async () => {
    const { dataset } = await readDataset(SAMPLE_PATH);
    scenarios = new Map(buildScenarios(dataset).map((s) => [s.name, s]));
    assert.deepEqual([...scenarios.keys()], ['halves', 'noise', 'markets', 'small-draws']);
    assert.equal(scenarios.get('small-draws')?.current.rowCount, 800);
  });

  test('random halves: no drift in any column', () => {
    const r = check('halves');
    assert.equal(r.number_of_columns, 14, '13 inputs + target');
    assert.equal(r.dataset_drift, false);
    assert.deepEqual(drifted(r), []);
  });

  test('fake-data noise: counts shifted by +2 on average drift where that is large against their spread', () => {
    const r = check('noise');
    assert.equal(r.dataset_drift, false);
    assert.ok(r.columns.total_items.drifted, 'total_items (sd ≈ 2.7) moves by 0.7 sd');
    for (const c of ['subtotal', 'min_item_price', 'max_item_price', 'total_onshift_dashers', 'market_id', 'target']) {
      assert.equal(r.columns[c].drifted, false, c);
    }
  });

  test('markets 1–3 vs 4–6: dataset drift, led by the market and market-state columns', () => {
    const r = check('markets');
    assert.equal(r.dataset_drift, true);
    for (const c of ['market_id', 'total_onshift_dashers', 'total_busy_dashers', 'total_outstanding_orders']) assert.ok(r.columns[c].drifted, c);
    assert.equal(r.columns.market_id.test, 'jensenshannon');
    assert.ok((r.columns.market_id.score as number) > 0.8, 'disjoint markets: JS distance near its maximum sqrt(ln 2)');
  });

  test('two small random draws: not drifted (Evidently flags columns with rare categories)', () => {
    const ours = check('small-draws');
    const evidently = check('small-draws', 'evidently');
    assert.equal(ours.dataset_drift, false);
    assert.ok(drifted(ours).length <= 1, `etaops flags ${drifted(ours).join(', ')}`);
    assert.equal(ours.columns.store_primary_category.test, 'chisquare');
    assert.equal(ours.columns.store_primary_category.drifted, false);
    // Evidently's goodness-of-fit chi-square: categories unseen in the reference give p = 0.
    assert.equal(evidently.columns.store_primary_category.score, 0);
    assert.ok(drifted(evidently).length > drifted(ours).length);
  });

  test('a saved profile as reference gives the same decisions as the raw reference', () => {
    for (const name of ['halves', 'noise', 'markets']) {
      const s = scenarios.get(name) as Scenario;
      const viaProfile = runDriftCheck({ profile: profileFromColumns(driftColumnsOf(s.reference)) }, driftColumnsOf(s.current));
      assert.deepEqual(drifted(viaProfile), drifted(check(name)), name);
    }
  });
});
