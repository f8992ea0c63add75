import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { GBDTRegressor, type FeatureMatrix } from '../../src/ml/gbdt/index.js';
import { CompiledForest } from '../../src/ml/gbdt/predict.js';
import type { TrainedForest } from '../../src/ml/gbdt/forest.js';
import { exportOnnx } from '../../src/ml/onnx/export.js';
import { OnnxReadError, forestFromOnnx } from '../../src/ml/onnx/read.js';
import { ProtoWriter } from '../../src/ml/onnx/protobuf.js';
import { loadPredictor, trainModel } from '../../src/ml/model/index.js';
import { treeEngine, thresholdProbe } from '../../src/ml/model/tree-engine.js';
import { SAMPLE_MISSING_MESSAGE, SAMPLE_PATH, syntheticData } from './gbdt-fixtures.js';
import { readDataset } from '../../src/ml/dataset/index.js';
import { buildFeatures } from '../../src/ml/features/index.js';

async function trainedForest(seed = 3, numTrees = 40): Promise<{ forest: TrainedForest; X: FeatureMatrix }> {
  const d = syntheticData(2000, 6, seed);
  // Some missing values, so that trees learn a default direction for them.
  for (let i = 0; i < d.X.data.length; i += 17) d.X.data[i] = NaN;
  const m = await new GBDTRegressor({ numTrees, learningRate: 0.2, numThreads: 1 }).fit(d.X, d.y);
  return { forest: m.toJSON(), X: d.X };
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `f${i}`);

async function ortPredict(onnx: Uint8Array, X: FeatureMatrix): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(onnx);
  try {
    return (await s.run({ features: new ort.Tensor('float32', X.data, [X.rows, X.cols]) })).prediction.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** A TreeEnsembleRegressor model.onnx with the given attribute overrides (hand-written, to test refusals). */
function handMadeOnnx(attrs: { name: string; ints?: number[]; floats?: number[]; strings?: string[]; s?: string; i?: number }[], opType = 'TreeEnsembleRegressor'): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, 8);
  w.message(7, (g) => g.message(1, (n) => {
    n.string(1, 'features').string(2, 'prediction').string(4, opType).string(7, 'ai.onnx.ml');
    for (const a of attrs) {
      n.message(5, (m) => {
        // AttributeProto: name 1, s 4, floats 7, ints 8, strings 9; type 20 (FLOATS 6, INTS 7, STRING 3, STRINGS 8).
        m.string(1, a.name);
        if (a.ints) m.int(20, 7).packedInts(8, a.ints);
        if (a.floats) m.int(20, 6).packedFloats(7, a.floats);
        if (a.strings) m.int(20, 8);
        if (a.strings) for (const s of a.strings) m.string(9, s);
        if (a.s !== undefined) m.int(20, 3).string(4, a.s);
        if (a.i !== undefined) m.int(20, 2).int(3, a.i);
      });
    }
  }).string(2, 'stump')
    .message(11, (v) => valueInfo(v, 'features'))
    .message(12, (v) => valueInfo(v, 'prediction')));
  w.message(8, (o) => o.string(1, '').int(2, 17));
  w.message(8, (o) => o.string(1, 'ai.onnx.ml').int(2, 3));
  return w.finish();
}

/** A float tensor [N, 1] value info (onnx.proto ValueInfoProto). */
function valueInfo(v: ProtoWriter, name: string): void {
  v.string(1, name).message(2, (t) => t.message(1, (tt) => tt.int(1, 1).message(2, (shape) => {
    shape.message(1, (d) => d.string(2, 'N'));
    shape.message(1, (d) => d.int(1, 1));
  })));
}

/** One tree: node 0 splits feature 0 at 1.5, leaves 1 (value 10) and 2 (value 20). */
const STUMP = [
  { name: 'nodes_treeids', ints: [0, 0, 0] }, { name: 'nodes_nodeids', ints: [0, 1, 2] }, { name: 'nodes_featureids', ints: [0, 0, 0] },
  { name: 'nodes_modes', strings: ['BRANCH_LEQ', 'LEAF', 'LEAF'] }, { name: 'nodes_values', floats: [1.5, 0, 0] },
  { name: 'nodes_truenodeids', ints: [1, 0, 0] }, { name: 'nodes_falsenodeids', ints: [2, 0, 0] }, { name: 'nodes_missing_value_tracks_true', ints: [1, 0, 0] },
  { name: 'target_treeids', ints: [0, 0] }, { name: 'target_nodeids', ints: [1, 2] }, { name: 'target_ids', ints: [0, 0] }, { name: 'target_weights', floats: [10, 20] },
  { name: 'base_values', floats: [100] }, { name: 'n_targets', i: 1 },
];
const withAttr = (name: string, v: Partial<(typeof STUMP)[number]>) => STUMP.map((a) => (a.name === name ? { name, ...v } : a));

describe('reading the trees back out of model.onnx', () => {
  test('export then read gives the same trees: thresholds, routing of missing values, leaf weights', async () => {
    const { forest } = await trainedForest();
    const read = forestFromOnnx(exportOnnx(forest, { featureNames: names(6) }), 6);
    assert.equal(read.trees.length, forest.trees.length);
    assert.equal(read.baseScore, Math.fround(forest.baseScore));
    forest.trees.forEach((t, i) => {
      const r = read.trees[i];
      assert.deepEqual(r.feature, t.feature, `tree ${i} features`);
      assert.deepEqual(r.left, t.left);
      assert.deepEqual(r.right, t.right);
      assert.deepEqual(r.defaultLeft, t.defaultLeft);
      assert.deepEqual(r.threshold, t.threshold.map((v) => Math.fround(v)));
      assert.deepEqual(r.value, t.value.map((v) => Math.fround(v)));
    });
    assert.ok(forest.trees.some((t) => t.defaultLeft.includes(1)), 'the fixture routes some missing values left');
  });

  test('a hand-written stump reads as written and scores as onnxruntime does', async () => {
    const onnx = handMadeOnnx(STUMP);
    const f = new CompiledForest(forestFromOnnx(onnx, 1));
    const X = { data: Float32Array.of(1, 1.5, 1.5000001, 2, NaN), rows: 5, cols: 1 };
    assert.deepEqual(Array.from(f.predict(X)), [110, 110, 120, 120, 110]);
    assert.deepEqual(Array.from(await ortPredict(onnx, X)), [110, 110, 120, 120, 110]);
  });

  test('refuses what it does not cover, saying what', () => {
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['another operator', handMadeOnnx(STUMP, 'TreeEnsembleClassifier'), /ai\.onnx\.ml\.TreeEnsembleClassifier, not ai\.onnx\.ml\.TreeEnsembleRegressor/],
      ['an AVERAGE aggregate', handMadeOnnx([...STUMP, { name: 'aggregate_function', s: 'AVERAGE' }]), /aggregate_function AVERAGE/],
      ['a post transform', handMadeOnnx([...STUMP, { name: 'post_transform', s: 'PROBIT' }]), /post_transform PROBIT/],
      ['two targets', handMadeOnnx(withAttr('n_targets', { i: 2 })), /n_targets 2: only SUM, NONE and 1/],
      ['a BRANCH_LT node', handMadeOnnx(withAttr('nodes_modes', { strings: ['BRANCH_LT', 'LEAF', 'LEAF'] })), /mode BRANCH_LT is not supported/],
      ['attribute lengths that differ', handMadeOnnx(withAttr('nodes_values', { floats: [1.5, 0] })), /nodes_values has 2 entries, nodes_treeids 3/],
      ['a weight on an inner node', handMadeOnnx(withAttr('target_nodeids', { ints: [0, 2] })), /target 0 names tree 0 node 0, which is not a leaf/],
      ['a child before its parent', handMadeOnnx(withAttr('nodes_truenodeids', { ints: [0, 0, 0] })), /not well formed: tree 0 node 0 has child indices out of range/],
      ['a feature beyond the input', handMadeOnnx(withAttr('nodes_featureids', { ints: [3, 0, 0] })), /uses feature 3 of 1/],
      ['a missing attribute', handMadeOnnx(STUMP.filter((a) => a.name !== 'nodes_falsenodeids')), /no nodes_falsenodeids attribute/],
      ['truncated bytes', handMadeOnnx(STUMP).subarray(0, 40), /runs past the end|truncated/],
    ];
    assert.throws(() => forestFromOnnx(handMadeOnnx(STUMP), 1, { maxNodes: 2 }), /3 nodes, more than the 2 this reader is asked to take/);
    for (const [what, bytes, message] of cases) {
      assert.throws(() => forestFromOnnx(bytes, 1), (e: unknown) => (e instanceof OnnxReadError || (e as Error).name === 'ProtoReadError') && message.test((e as Error).message), what);
    }
  });
});

describe('the tree engine', () => {
  test('the threshold probe reaches both sides of nearly every split, and the missing-value branch', async () => {
    const { forest } = await trainedForest(5, 60);
    const X = thresholdProbe(forest);
    let inner = 0;
    let both = 0;
    let missing = 0;
    for (const t of forest.trees) {
      for (let i = 0; i < t.feature.length; i++) {
        if (t.feature[i] < 0) continue;
        inner++;
        let left = 0;
        let right = 0;
        for (let r = 0; r < X.rows; r++) {
          const x = X.data[r * X.cols + t.feature[i]];
          if (Number.isNaN(x)) missing++;
          else if (x <= t.threshold[i]) left++;
          else right++;
        }
        if (left > 0 && right > 0) both++;
      }
    }
    assert.ok(both / inner > 0.99, `${both} of ${inner} splits see rows on both sides`);
    assert.ok(missing > 0);
  });

  test('agrees with onnxruntime on the probe; a session of another model is caught', async () => {
    const a = await trainedForest(3);
    const b = await trainedForest(4);
    const onnxA = exportOnnx(a.forest, { featureNames: names(6) });
    const onnxB = exportOnnx(b.forest, { featureNames: names(6) });
    const sessionA = await ort.InferenceSession.create(onnxA);
    const sessionB = await ort.InferenceSession.create(onnxB);
    const io = { input: 'features', output: 'prediction' };
    try {
      const ok = await treeEngine(onnxA, 6, sessionA, io);
      assert.ok(!('refused' in ok), JSON.stringify(ok));
      const bad = await treeEngine(onnxA, 6, sessionB, io);
      assert.ok('refused' in bad && /probe row \d+/.test(bad.refused), JSON.stringify(bad));
      const unreadable = await treeEngine(handMadeOnnx([...STUMP, { name: 'aggregate_function', s: 'MAX' }]), 1, sessionA, io);
      assert.ok('refused' in unreadable && /not readable as an etaops tree ensemble: aggregate_function MAX/.test(unreadable.refused));
    } finally {
      await sessionA.release();
      await sessionB.release();
    }
  });

  const sampleThere = existsSync(SAMPLE_PATH);
  test('a served model with the engine gives onnxruntime\'s answers for every row of the real sample, and the same number for a row at any run size', { skip: sampleThere ? false : SAMPLE_MISSING_MESSAGE }, async () => {
    const trained = await trainModel({ dataUri: SAMPLE_PATH, params: { numTrees: 120 } });
    const { dataset } = await readDataset(SAMPLE_PATH);
    const X = buildFeatures(dataset, trained.meta.featureSpec);
    const plain = await loadPredictor({ onnx: trained.onnx, meta: trained.meta });
    const p = await loadPredictor({ onnx: trained.onnx, meta: trained.meta }, { treeEngine: true });
    try {
      assert.equal(plain.engine, 'onnxruntime');
      assert.equal(p.engine, 'tree engine (agreed with onnxruntime on 512 probe rows)');
      const expected = await plain.predictFeatures(X);
      const whole = await p.predictFeatures(X);
      let worst = 0;
      const cols = X.cols;
      // Runs of 1 to 9 rows: row by row, four-row groups, and the rows left over.
      for (let start = 0, size = 1; start < X.rows; start += size, size = (size % 9) + 1) {
        const n = Math.min(size, X.rows - start);
        const got = await p.predictFeatures({ data: X.data.subarray(start * cols, (start + n) * cols), rows: n, cols });
        for (let i = 0; i < n; i++) {
          assert.equal(got[i], Math.fround(got[i]), 'float32 answers, as onnxruntime gives');
          assert.equal(got[i], whole[start + i], `row ${start + i}: the same number in a run of ${n} as in the whole sample`);
          worst = Math.max(worst, Math.abs(got[i] - expected[start + i]) / Math.abs(expected[start + i]));
        }
      }
      assert.ok(worst <= 1e-6, `worst relative difference ${worst}`);
    } finally {
      await p.close();
      await plain.close();
    }
  });
});
