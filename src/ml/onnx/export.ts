/**
 * ONNX export of a TrainedForest as a single ai.onnx.ml TreeEnsembleRegressor node:
 * input `features` float[N, F] → output `prediction` float[N, 1].
 *
 * Routing maps one-to-one: BRANCH_LEQ sends x <= threshold to the TRUE branch, which is our
 * left child; nodes_missing_value_tracks_true = defaultLeft sends NaN where training did.
 * Thresholds and leaf values are float32 numbers already, so nothing rounds differently.
 */
import type { TrainedForest } from '../gbdt/forest.js';
import { validateForest } from '../gbdt/predict.js';
import { ProtoWriter } from './protobuf.js';

export interface OnnxExportOptions {
  featureNames: string[];
  inputName?: 'features';
}

/** IR version 8 (ONNX 1.10+) and opsets onnxruntime-node 1.30 loads. */
export const ONNX_IR_VERSION = 8;
export const ONNX_ML_OPSET = 3;
export const ONNX_DEFAULT_OPSET = 17;
export const ONNX_OUTPUT_NAME = 'prediction';

// onnx.proto field numbers (the subset used here).
const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, docString: 6, graph: 7, opsetImport: 8, metadataProps: 14 } as const;
const OPSET = { domain: 1, version: 2 } as const;
const GRAPH = { node: 1, name: 2, input: 11, output: 12 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const ATTR = { name: 1, f: 2, i: 3, s: 4, floats: 7, ints: 8, strings: 9, type: 20 } as const;
const ATTR_TYPE = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE = { tensorType: 1 } as const;
const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
const SHAPE = { dim: 1 } as const;
const DIM = { value: 1, param: 2 } as const;
const FLOAT_ELEM = 1;
const KEY_VALUE = { key: 1, value: 2 } as const;

interface EnsembleArrays {
  treeIds: number[];
  nodeIds: number[];
  featureIds: number[];
  modes: string[];
  values: number[];
  trueIds: number[];
  falseIds: number[];
  missingTracksTrue: number[];
  targetTreeIds: number[];
  targetNodeIds: number[];
  targetWeights: number[];
}

function flattenForest(forest: TrainedForest): EnsembleArrays {
  const a: EnsembleArrays = {
    treeIds: [], nodeIds: [], featureIds: [], modes: [], values: [], trueIds: [], falseIds: [],
    missingTracksTrue: [], targetTreeIds: [], targetNodeIds: [], targetWeights: [],
  };
  forest.trees.forEach((t, treeId) => {
    for (let node = 0; node < t.feature.length; node++) {
      const leaf = t.feature[node] < 0;
      a.treeIds.push(treeId);
      a.nodeIds.push(node);
      a.featureIds.push(leaf ? 0 : t.feature[node]);
      a.modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      a.values.push(leaf ? 0 : t.threshold[node]);
      a.trueIds.push(leaf ? 0 : t.left[node]);
      a.falseIds.push(leaf ? 0 : t.right[node]);
      a.missingTracksTrue.push(leaf ? 0 : t.defaultLeft[node]);
      if (leaf) {
        a.targetTreeIds.push(treeId);
        a.targetNodeIds.push(node);
        a.targetWeights.push(t.value[node]);
      }
    }
  });
  return a;
}

function tensorValueInfo(w: ProtoWriter, name: string, dims: (number | string)[]): void {
  w.string(VALUE_INFO.name, name);
  w.message(VALUE_INFO.type, (type) =>
    type.message(TYPE.tensorType, (tt) => {
      tt.int(TENSOR_TYPE.elemType, FLOAT_ELEM);
      tt.message(TENSOR_TYPE.shape, (shape) => {
        for (const d of dims) shape.message(SHAPE.dim, (dim) => (typeof d === 'number' ? dim.int(DIM.value, d) : dim.string(DIM.param, d)));
      });
    }),
  );
}

type AttrValue = { ints: number[] } | { floats: number[] } | { strings: string[] } | { int: number } | { string: string };

function attribute(w: ProtoWriter, name: string, v: AttrValue): void {
  w.message(NODE.attribute, (a) => {
    a.string(ATTR.name, name);
    if ('ints' in v) a.int(ATTR.type, ATTR_TYPE.INTS).packedInts(ATTR.ints, v.ints);
    else if ('floats' in v) a.int(ATTR.type, ATTR_TYPE.FLOATS).packedFloats(ATTR.floats, v.floats);
    else if ('strings' in v) {
      a.int(ATTR.type, ATTR_TYPE.STRINGS);
      for (const s of v.strings) a.string(ATTR.strings, s);
    } else if ('int' in v) a.int(ATTR.type, ATTR_TYPE.INT).int(ATTR.i, v.int);
    else a.int(ATTR.type, ATTR_TYPE.STRING).string(ATTR.s, v.string);
  });
}

/** ModelProto bytes for onnxruntime (`InferenceSession.create(bytes)`). */
export function exportOnnx(forest: TrainedForest, opts: OnnxExportOptions): Uint8Array {
  validateForest(forest);
  if (!Array.isArray(opts.featureNames) || opts.featureNames.length !== forest.numFeatures) {
    throw new Error(`exportOnnx: ${opts.featureNames?.length ?? 0} feature names for a forest of ${forest.numFeatures} features`);
  }
  const inputName = opts.inputName ?? 'features';
  const e = flattenForest(forest);
  const model = new ProtoWriter();
  model.int(MODEL.irVersion, ONNX_IR_VERSION);
  model.string(MODEL.producerName, 'etaops');
  model.string(MODEL.producerVersion, '1');
  model.string(MODEL.docString, `etaops GBDT: ${forest.trees.length} trees, ${forest.numFeatures} features`);
  model.message(MODEL.graph, (g) => {
    g.message(GRAPH.node, (n) => {
      n.string(NODE.input, inputName);
      n.string(NODE.output, ONNX_OUTPUT_NAME);
      n.string(NODE.name, 'gbdt');
      n.string(NODE.opType, 'TreeEnsembleRegressor');
      n.string(NODE.domain, 'ai.onnx.ml');
      attribute(n, 'aggregate_function', { string: 'SUM' });
      attribute(n, 'base_values', { floats: [forest.baseScore] });
      attribute(n, 'n_targets', { int: 1 });
      attribute(n, 'nodes_falsenodeids', { ints: e.falseIds });
      attribute(n, 'nodes_featureids', { ints: e.featureIds });
      attribute(n, 'nodes_missing_value_tracks_true', { ints: e.missingTracksTrue });
      attribute(n, 'nodes_modes', { strings: e.modes });
      attribute(n, 'nodes_nodeids', { ints: e.nodeIds });
      attribute(n, 'nodes_treeids', { ints: e.treeIds });
      attribute(n, 'nodes_truenodeids', { ints: e.trueIds });
      attribute(n, 'nodes_values', { floats: e.values });
      attribute(n, 'post_transform', { string: 'NONE' });
      attribute(n, 'target_ids', { ints: new Array<number>(e.targetNodeIds.length).fill(0) });
      attribute(n, 'target_nodeids', { ints: e.targetNodeIds });
      attribute(n, 'target_treeids', { ints: e.targetTreeIds });
      attribute(n, 'target_weights', { floats: e.targetWeights });
    });
    g.string(GRAPH.name, 'etaops_gbdt');
    g.message(GRAPH.input, (v) => tensorValueInfo(v, inputName, ['N', forest.numFeatures]));
    g.message(GRAPH.output, (v) => tensorValueInfo(v, ONNX_OUTPUT_NAME, ['N', 1]));
  });
  model.message(MODEL.opsetImport, (o) => o.string(OPSET.domain, '').int(OPSET.version, ONNX_DEFAULT_OPSET));
  model.message(MODEL.opsetImport, (o) => o.string(OPSET.domain, 'ai.onnx.ml').int(OPSET.version, ONNX_ML_OPSET));
  model.message(MODEL.metadataProps, (kv) => kv.string(KEY_VALUE.key, 'feature_names').string(KEY_VALUE.value, JSON.stringify(opts.featureNames)));
  return model.finish();
}
