/** Prometheus gauges for drift and live accuracy, read back from a real prom-client Registry. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { registerDriftMetrics } from '../../src/drift/metrics.js';

const result = (columns: Record<string, { test: string; score: number | null; drifted: boolean }>, drift: boolean, share: number) => ({
  dataset_drift: drift,
  drift_share: share,
  columns,
});

describe('drift metrics', () => {
  test('scores, flags, verdict, share, last check time and live accuracy in the exposition text', async () => {
    const registry = new Registry();
    const m = registerDriftMetrics(registry);
    m.recordDriftResult(
      'eta',
      result({ subtotal: { test: 'wasserstein', score: 0.25, drifted: true }, market_id: { test: 'jensenshannon', score: 0.02, drifted: false } }, true, 0.5),
      new Date(1_764_000_000_000),
    );
    m.setLiveAccuracy('eta', { mae: 612.5, rmse: 901.25 });
    const text = await registry.metrics();
    assert.match(text, /etaops_drift_column_score\{model="eta",column="subtotal",test="wasserstein"\} 0\.25/);
    assert.match(text, /etaops_drift_column_drifted\{model="eta",column="subtotal",test="wasserstein"\} 1/);
    assert.match(text, /etaops_drift_column_drifted\{model="eta",column="market_id",test="jensenshannon"\} 0/);
    assert.match(text, /etaops_dataset_drift\{model="eta"\} 1/);
    assert.match(text, /etaops_drift_share\{model="eta"\} 0\.5/);
    assert.match(text, /etaops_drift_last_check_timestamp_seconds\{model="eta"\} 1764000000/);
    assert.match(text, /etaops_live_mae_seconds\{model="eta"\} 612\.5/);
    assert.match(text, /etaops_live_rmse_seconds\{model="eta"\} 901\.25/);
  });

  test('a later check replaces the series: vanished columns and changed tests disappear', async () => {
    const registry = new Registry();
    const m = registerDriftMetrics(registry);
    m.recordDriftResult('eta', result({ a: { test: 'ks', score: 0.01, drifted: true }, b: { test: 'ks', score: 0.5, drifted: false } }, true, 0.5));
    m.recordDriftResult('other', result({ a: { test: 'ks', score: 0.9, drifted: false } }, false, 0));
    m.recordDriftResult('eta', result({ a: { test: 'wasserstein', score: 0.02, drifted: false } }, false, 0));
    const text = await registry.metrics();
    assert.doesNotMatch(text, /model="eta",column="b"/);
    assert.doesNotMatch(text, /model="eta",column="a",test="ks"/);
    assert.match(text, /etaops_drift_column_score\{model="eta",column="a",test="wasserstein"\} 0\.02/);
    assert.match(text, /etaops_drift_column_score\{model="other",column="a",test="ks"\} 0\.9/, 'other models untouched');
    assert.match(text, /etaops_dataset_drift\{model="eta"\} 0/);
  });

  test('registering twice on one registry reuses the gauges; a missing score leaves no series', async () => {
    const registry = new Registry();
    registerDriftMetrics(registry);
    const m = registerDriftMetrics(registry);
    m.recordDriftResult('eta', result({ x: { test: 'ks', score: null, drifted: true } }, true, 1));
    m.setLiveAccuracy('eta', { mae: null, rmse: null });
    const text = await registry.metrics();
    assert.doesNotMatch(text, /etaops_drift_column_score\{model="eta",column="x"/);
    assert.match(text, /etaops_drift_column_drifted\{model="eta",column="x",test="ks"\} 1/);
    assert.doesNotMatch(text, /etaops_live_mae_seconds\{/);
  });
});
