/**
 * Reads the graph inputs (name and shape) of an ONNX ModelProto with a minimal protobuf walk,
 * so the controller can check a ModelVersion's model.onnx against its model.json feature spec
 * without loading onnxruntime.
 * Field numbers (onnx.proto): ModelProto.graph = 7; GraphProto.input = 11;
 * ValueInfoProto.name = 1, .type = 2; TypeProto.tensor_type = 1; Tensor.shape = 2;
 * TensorShapeProto.dim = 1; Dimension.dim_value = 1, .dim_param = 2.
 */

import { protoFields as fields, protoMessages as sub, protoText } from '../ml/onnx/protobuf.js';

export interface OnnxInput {
  name: string;
  /** A number per fixed dimension, the parameter name for symbolic ones (e.g. "N"). */
  dims: Array<number | string>;
}

export function onnxInputs(model: Uint8Array): OnnxInput[] {
  const out: OnnxInput[] = [];
  for (const graph of sub(model, 7)) {
    for (const vi of sub(graph, 11)) {
      const name = protoText(sub(vi, 1)[0] ?? new Uint8Array());
      const dims: Array<number | string> = [];
      for (const type of sub(vi, 2)) for (const tensor of sub(type, 1)) for (const shape of sub(tensor, 2)) {
        for (const dim of sub(shape, 1)) {
          const f = [...fields(dim)];
          const v = f.find((x) => x.no === 1 && x.wire === 0);
          const p = f.find((x) => x.no === 2 && x.wire === 2);
          dims.push(v ? (v.value as number) : p ? protoText(p.value as Uint8Array) : '?');
        }
      }
      out.push({ name, dims });
    }
  }
  return out;
}

/** Why model.onnx does not fit model.json, or undefined when it does. */
export function checkOnnxAgainstSpec(onnx: Uint8Array, meta: unknown): string | undefined {
  const m = meta as { featureSpec?: { names?: unknown[] }; onnx?: { inputName?: string } } | undefined;
  const names = m?.featureSpec?.names;
  if (!Array.isArray(names)) return 'model.json has no featureSpec.names';
  let inputs: OnnxInput[];
  try {
    inputs = onnxInputs(onnx);
  } catch (e) {
    return `model.onnx is not a readable ONNX model: ${(e as Error).message}`;
  }
  const want = m?.onnx?.inputName ?? 'features';
  const input = inputs.find((x) => x.name === want);
  if (!input) return `model.onnx has no input '${want}' (inputs: ${inputs.map((x) => x.name).join(', ') || 'none'})`;
  const last = input.dims.at(-1);
  if (typeof last !== 'number') return `model.onnx input '${want}' has no fixed feature dimension (shape [${input.dims.join(', ')}])`;
  if (last !== names.length) return `model.onnx input '${want}' takes ${last} features but model.json's feature spec has ${names.length}`;
  return undefined;
}
