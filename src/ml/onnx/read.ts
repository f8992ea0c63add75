/**
 * Reads the tree ensemble back out of a model.onnx: the inverse of export.ts, so a served model
 * can be evaluated by CompiledForest from the very bytes onnxruntime loads (model.json carries
 * no trees; the ONNX file is the one artifact).
 *
 * Deliberately narrow: a single ai.onnx.ml TreeEnsembleRegressor with one target, SUM, no post
 * transform, BRANCH_LEQ and LEAF nodes only, which is everything etaops exports. Anything else
 * (a model from another tool, a future export) is refused with the reason, and the caller keeps
 * onnxruntime for it.
 */
import type { ForestTrees, TrainedTree } from '../gbdt/forest.js';
import { validateForest } from '../gbdt/predict.js';
import { protoFields, protoFloats, protoInts, protoMessages, protoText, type ProtoField } from './protobuf.js';

export class OnnxReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxReadError';
  }
}

// onnx.proto field numbers (the subset read here).
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const NODE = { opType: 4, attribute: 5, domain: 7 } as const;
const ATTR = { name: 1, f: 2, i: 3, s: 4, floats: 7, ints: 8, strings: 9 } as const;

interface Attribute {
  fields: ProtoField[];
}

function attributesOf(node: Uint8Array): Map<string, Attribute> {
  const out = new Map<string, Attribute>();
  for (const a of protoMessages(node, NODE.attribute)) {
    const fields = [...protoFields(a)];
    const name = fields.find((f) => f.no === ATTR.name && f.wire === 2);
    if (name) out.set(protoText(name.value as Uint8Array), { fields });
  }
  return out;
}

const ints = (attrs: Map<string, Attribute>, name: string): number[] => {
  const a = attrs.get(name);
  if (!a) throw new OnnxReadError(`the TreeEnsembleRegressor has no ${name} attribute`);
  return protoInts(a.fields, ATTR.ints);
};
const floats = (attrs: Map<string, Attribute>, name: string): number[] => protoFloats(attrs.get(name)?.fields ?? [], ATTR.floats);
const strings = (attrs: Map<string, Attribute>, name: string): string[] =>
  (attrs.get(name)?.fields ?? []).filter((f) => f.no === ATTR.strings && f.wire === 2).map((f) => protoText(f.value as Uint8Array));
const text = (attrs: Map<string, Attribute>, name: string): string | undefined => {
  const f = attrs.get(name)?.fields.find((x) => x.no === ATTR.s && x.wire === 2);
  return f ? protoText(f.value as Uint8Array) : undefined;
};
const int = (attrs: Map<string, Attribute>, name: string): number | undefined => {
  const f = attrs.get(name)?.fields.find((x) => x.no === ATTR.i && x.wire === 0);
  return f ? (f.value as number) : undefined;
};

function ensembleNode(model: Uint8Array): Map<string, Attribute> {
  const graphs = protoMessages(model, MODEL_GRAPH);
  if (graphs.length !== 1) throw new OnnxReadError(`expected one graph, found ${graphs.length}`);
  const nodes = protoMessages(graphs[0], GRAPH_NODE);
  if (nodes.length !== 1) throw new OnnxReadError(`expected a single TreeEnsembleRegressor node, found ${nodes.length} nodes`);
  const fields = [...protoFields(nodes[0])];
  const str = (no: number) => {
    const f = fields.find((x) => x.no === no && x.wire === 2);
    return f ? protoText(f.value as Uint8Array) : '';
  };
  if (str(NODE.opType) !== 'TreeEnsembleRegressor' || str(NODE.domain) !== 'ai.onnx.ml') {
    throw new OnnxReadError(`the node is ${str(NODE.domain) || 'ai.onnx'}.${str(NODE.opType)}, not ai.onnx.ml.TreeEnsembleRegressor`);
  }
  return attributesOf(nodes[0]);
}

function checkSupported(attrs: Map<string, Attribute>): void {
  const aggregate = text(attrs, 'aggregate_function') ?? 'SUM';
  const post = text(attrs, 'post_transform') ?? 'NONE';
  const targets = int(attrs, 'n_targets') ?? 1;
  if (aggregate !== 'SUM' || post !== 'NONE' || targets !== 1) {
    throw new OnnxReadError(`aggregate_function ${aggregate}, post_transform ${post}, n_targets ${targets}: only SUM, NONE and 1 are supported`);
  }
  if (floats(attrs, 'base_values').length > 1) throw new OnnxReadError('more than one base value');
  for (const name of ['nodes_values_as_tensor', 'target_weights_as_tensor', 'base_values_as_tensor', 'nodes_hitrates']) {
    if (attrs.has(name)) throw new OnnxReadError(`the ${name} attribute is not supported`);
  }
}

/**
 * The trees of an etaops model.onnx, node for node. Node ids inside a tree must be 0..n-1 in
 * order with children after parents (as export.ts writes them); the result passes validateForest.
 */
export function forestFromOnnx(model: Uint8Array, numFeatures: number, opts: { maxNodes?: number } = {}): ForestTrees {
  const attrs = ensembleNode(model);
  checkSupported(attrs);
  const treeIds = ints(attrs, 'nodes_treeids');
  const maxNodes = opts.maxNodes ?? Number.MAX_SAFE_INTEGER;
  if (treeIds.length > maxNodes) throw new OnnxReadError(`${treeIds.length} nodes, more than the ${maxNodes} this reader is asked to take`);
  const nodeIds = ints(attrs, 'nodes_nodeids');
  const featureIds = ints(attrs, 'nodes_featureids');
  const trueIds = ints(attrs, 'nodes_truenodeids');
  const falseIds = ints(attrs, 'nodes_falsenodeids');
  const missingTrue = attrs.has('nodes_missing_value_tracks_true') ? ints(attrs, 'nodes_missing_value_tracks_true') : [];
  const values = floats(attrs, 'nodes_values');
  const modes = strings(attrs, 'nodes_modes');
  const n = treeIds.length;
  for (const [name, len] of [['nodes_nodeids', nodeIds.length], ['nodes_featureids', featureIds.length], ['nodes_truenodeids', trueIds.length],
    ['nodes_falsenodeids', falseIds.length], ['nodes_values', values.length], ['nodes_modes', modes.length]] as const) {
    if (len !== n) throw new OnnxReadError(`${name} has ${len} entries, nodes_treeids ${n}`);
  }
  if (missingTrue.length !== 0 && missingTrue.length !== n) throw new OnnxReadError(`nodes_missing_value_tracks_true has ${missingTrue.length} entries, nodes_treeids ${n}`);

  const trees: TrainedTree[] = [];
  for (let k = 0; k < n; k++) {
    const t = treeIds[k];
    if (t === trees.length) trees.push({ feature: [], threshold: [], defaultLeft: [], left: [], right: [], value: [] });
    else if (t !== trees.length - 1) throw new OnnxReadError(`node ${k}: tree ids must run 0, 1, 2, ... in order (got ${t} after ${trees.length - 1})`);
    const tree = trees[t];
    if (nodeIds[k] !== tree.feature.length) throw new OnnxReadError(`tree ${t}: node ids must run 0, 1, 2, ... in order (got ${nodeIds[k]})`);
    const mode = modes[k];
    if (mode !== 'LEAF' && mode !== 'BRANCH_LEQ') throw new OnnxReadError(`tree ${t} node ${nodeIds[k]}: mode ${mode} is not supported (only BRANCH_LEQ and LEAF)`);
    const leaf = mode === 'LEAF';
    tree.feature.push(leaf ? -1 : featureIds[k]);
    tree.threshold.push(leaf ? 0 : values[k]);
    tree.defaultLeft.push(leaf ? 0 : missingTrue[k] ?? 0);
    tree.left.push(leaf ? -1 : trueIds[k]);
    tree.right.push(leaf ? -1 : falseIds[k]);
    tree.value.push(0);
  }
  addLeafWeights(attrs, trees);
  const forest: ForestTrees = { format: 'etaops-gbdt', version: 1, numFeatures, baseScore: floats(attrs, 'base_values')[0] ?? 0, trees };
  try {
    validateForest(forest);
  } catch (err) {
    throw new OnnxReadError(`the trees are not well formed: ${(err as Error).message}`);
  }
  return forest;
}

function addLeafWeights(attrs: Map<string, Attribute>, trees: TrainedTree[]): void {
  const tt = ints(attrs, 'target_treeids');
  const tn = ints(attrs, 'target_nodeids');
  const ids = ints(attrs, 'target_ids');
  const w = floats(attrs, 'target_weights');
  if (tn.length !== tt.length || ids.length !== tt.length || w.length !== tt.length) {
    throw new OnnxReadError(`target_* attributes differ in length (${tt.length}, ${tn.length}, ${ids.length}, ${w.length})`);
  }
  for (let k = 0; k < tt.length; k++) {
    const tree = trees[tt[k]];
    if (!tree || tn[k] >= tree.feature.length || tree.feature[tn[k]] !== -1) throw new OnnxReadError(`target ${k} names tree ${tt[k]} node ${tn[k]}, which is not a leaf`);
    if (ids[k] !== 0) throw new OnnxReadError(`target ${k} has target id ${ids[k]}; only one target is supported`);
    // Several weights on one leaf add up, as onnxruntime does.
    tree.value[tn[k]] += w[k];
  }
}
