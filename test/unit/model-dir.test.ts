import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fitFeatureSpec } from '../../src/ml/features/index.js';
import { resolveParams } from '../../src/ml/gbdt/index.js';
import { datasetFingerprint, readModelDir, sha256Hex, validateModelMeta, writeModelDir, type ModelMeta } from '../../src/ml/model/index.js';
import { makeDataset, utc, type OrderRow } from './features-fixtures.js';

const rows: OrderRow[] = [
  { created_at: utc('2015-02-06 22:24:17'), market_id: '1', store_primary_category: 'thai', subtotal: 100 },
  { created_at: utc('2015-02-07 22:24:17'), market_id: '2', subtotal: 200 },
  { created_at: utc('2015-02-08 22:24:17'), market_id: '1', store_primary_category: 'pizza' },
];

test('the data fingerprint depends on the values, not on dictionary order', () => {
  const a = datasetFingerprint(makeDataset(rows));
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.equal(datasetFingerprint(makeDataset(rows, 'reversed')), a);
  assert.notEqual(datasetFingerprint(makeDataset([rows[0], rows[1], { ...rows[2], subtotal: 1 }])), a);
  assert.notEqual(datasetFingerprint(makeDataset([rows[0], rows[1], { ...rows[2], market_id: '2' }])), a);
  assert.notEqual(datasetFingerprint(makeDataset([rows[1], rows[0], rows[2]])), a, 'row order is part of the data');
});

function sampleMeta(onnx: Uint8Array): ModelMeta {
  const spec = fitFeatureSpec(makeDataset(rows));
  return {
    format: 'etaops-model',
    formatVersion: 1,
    modelName: 'test',
    createdAt: new Date(0).toISOString(),
    etaopsVersion: '0',
    featureSpec: spec,
    params: resolveParams({}),
    bestIteration: 1,
    split: { method: 'time', holdoutFraction: 0.2, trainRows: 2, holdoutRows: 1, earlyStoppingRows: 0, holdoutFrom: null, holdoutTo: null },
    metrics: { overall: { count: 0, rmse: 0, mae: 0, r2: 0, mape: 0, p50AbsError: 0, p90AbsError: 0, underPredicted5Min: 0, underPredicted10Min: 0 }, byMarket: {}, skipped: 0 },
    data: { source: 'x', fingerprint: 'f', fingerprintMethod: 'sha256-columns-v1', recordsRead: 3, rowsKept: 3, rowsDropped: 0, rowsForTraining: 3, rowsWithoutTarget: 0, defects: {}, warnings: [] },
    trainingSeconds: 0,
    featureImportance: {},
    onnx: { file: 'model.onnx', sha256: sha256Hex(onnx), inputName: 'features', outputName: 'prediction', numFeatures: spec.names.length },
    training_profile: null,
  };
}

test('model directory: round trip, and each broken file is named in the error', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'etaops-modeldir-'));
  try {
    const onnx = Uint8Array.of(1, 2, 3);
    const meta = sampleMeta(onnx);
    await writeModelDir(dir, onnx, meta);
    const back = await readModelDir(dir);
    assert.deepEqual(Array.from(back.onnx), [1, 2, 3]);
    assert.deepEqual(back.meta, meta);

    await writeFile(path.join(dir, 'model.onnx'), Uint8Array.of(9));
    await assert.rejects(readModelDir(dir), /model\.onnx has sha256 .* different models/);
    await writeFile(path.join(dir, 'model.json'), '{not json');
    await assert.rejects(readModelDir(dir), /model\.json is not valid JSON/);
    await assert.rejects(readModelDir(path.join(dir, 'nope')), /nope: model\.onnx and model\.json not found/);
    await rm(path.join(dir, 'model.json'));
    await assert.rejects(readModelDir(dir), /: model\.json not found/, 'only the missing one is named');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('model.json validation rejects other formats, versions and feature counts', () => {
  const meta = sampleMeta(Uint8Array.of(1));
  assert.equal(validateModelMeta(JSON.parse(JSON.stringify(meta))).modelName, 'test');
  assert.throws(() => validateModelMeta({ ...meta, format: 'mlflow' }), /not an etaops model/);
  assert.throws(() => validateModelMeta({ ...meta, formatVersion: 7 }), /formatVersion 7 is not supported/);
  assert.throws(() => validateModelMeta({ ...meta, onnx: { ...meta.onnx, numFeatures: 3 } }), /numFeatures/);
  assert.throws(() => validateModelMeta({ ...meta, featureSpec: { ...meta.featureSpec, version: 2 } }), /version 2 is not supported/);
});
