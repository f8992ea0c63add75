/**
 * Reads the graph inputs (name and shape) of an ONNX ModelProto with a minimal protobuf walk,
 * so the controller can check a ModelVersion's model.onnx against its model.json feature spec
 * without loading onnxruntime or the ML code.
 * Field numbers (onnx.proto): ModelProto.graph = 7; GraphProto.input = 11;
 * ValueInfoProto.name = 1, .type = 2; TypeProto.tensor_type = 1; Tensor.shape = 2;
 * TensorShapeProto.dim = 1; Dimension.dim_value = 1, .dim_param = 2.
 */

export interface OnnxInput {
  name: string;
  /** A number per fixed dimension, the parameter name for symbolic ones (e.g. "N"). */
  dims: Array<number | string>;
}

type Field = { no: number; wire: number; value: number | Uint8Array };

function* fields(buf: Uint8Array): Generator<Field> {
  let i = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (let n = 0; n < 10; n++) {
      if (i >= buf.length) throw new Error('truncated varint');
      const b = buf[i++];
      result += (b & 0x7f) * mul;
      if (!(b & 0x80)) return result;
      mul *= 128;
    }
    throw new Error('varint too long');
  };
  while (i < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) yield { no, wire, value: varint() };
    else if (wire === 1) { i += 8; }
    else if (wire === 5) { i += 4; }
    else if (wire === 2) {
      const len = varint();
      if (i + len > buf.length) throw new Error('truncated field');
      yield { no, wire, value: buf.subarray(i, i + len) };
      i += len;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

const sub = (buf: Uint8Array, no: number): Uint8Array[] =>
  [...fields(buf)].filter((f) => f.no === no && f.wire === 2).map((f) => f.value as Uint8Array);

export function onnxInputs(model: Uint8Array): OnnxInput[] {
  const out: OnnxInput[] = [];
  for (const graph of sub(model, 7)) {
    for (const vi of sub(graph, 11)) {
      const name = new TextDecoder().decode(sub(vi, 1)[0] ?? new Uint8Array());
      const dims: Array<number | string> = [];
      for (const type of sub(vi, 2)) for (const tensor of sub(type, 1)) for (const shape of sub(tensor, 2)) {
        for (const dim of sub(shape, 1)) {
          const f = [...fields(dim)];
          const v = f.find((x) => x.no === 1 && x.wire === 0);
          const p = f.find((x) => x.no === 2 && x.wire === 2);
          dims.push(v ? (v.value as number) : p ? new TextDecoder().decode(p.value as Uint8Array) : '?');
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
