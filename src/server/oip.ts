/**
 * The Open Inference Protocol (KServe V2) REST shapes for this model: one named input tensor
 * per order field (BYTES for text, INT64 / FP64 for numbers, shape [N], row-major data) and one
 * output tensor of predicted seconds.
 *
 * An infer request is turned into plain order objects and validated by the same code as
 * /predict, so both protocols accept and reject exactly the same values.
 */
import { ORDER_INPUT_COLUMNS, columnSpec, type ColumnSpec } from '../ml/dataset/schema.js';
import { OrderValidationError, describeValue, type FieldError, type ParsedOrders } from './order-input.js';

export const OUTPUT_NAME = 'predicted_duration_seconds';

export type TensorDatatype = 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BYTES';
const NUMERIC_DATATYPES = new Set(['UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64']);

export interface TensorMetadata {
  name: string;
  datatype: TensorDatatype;
  shape: number[];
}

/** The datatype we advertise for a column; numbers are also accepted as any numeric type. */
function datatypeOf(spec: ColumnSpec): TensorDatatype {
  if (spec.kind === 'timestamp' || spec.unit === 'label') return 'BYTES';
  if (spec.kind === 'integer' || spec.unit === 'id') return 'INT64';
  return 'FP64';
}

export const INPUT_TENSORS: TensorMetadata[] = ORDER_INPUT_COLUMNS.map((name) => ({
  name,
  datatype: datatypeOf(columnSpec(name) as ColumnSpec),
  shape: [-1],
}));

export const OUTPUT_TENSORS: TensorMetadata[] = [{ name: OUTPUT_NAME, datatype: 'FP64', shape: [-1] }];

export class InferRequestError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.path}: ${e.message}`).join('; '));
    this.name = 'InferRequestError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deepest nesting of a tensor's data we flatten; real shapes here are [N] or [N, 1]. */
const MAX_DATA_DEPTH = 32;

/**
 * Flattens nested row-major data (the spec allows nested arrays) into one list, or returns
 * undefined when it nests deeper than MAX_DATA_DEPTH. Iterative: Array.prototype.flat recurses
 * per level, and a 1 MiB body of `[[[[...` overflowed the stack (a 500 instead of a 400).
 */
function flatten(data: unknown[]): unknown[] | undefined {
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const stack: { items: unknown[]; next: number }[] = [{ items: data, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next >= top.items.length) {
      stack.pop();
      continue;
    }
    const v = top.items[top.next++];
    if (!Array.isArray(v)) out.push(v);
    else if (stack.length >= MAX_DATA_DEPTH) return undefined;
    else stack.push({ items: v, next: 0 });
  }
  return out;
}

export interface ParsedInferRequest {
  id: string | undefined;
  /** One plain order object per row, ready for parseOrders. */
  orders: Record<string, unknown>[];
  /** Output names asked for (empty = all). */
  outputs: string[];
}

/** Checks one input tensor's envelope; returns its flat data or records errors. */
function tensorData(t: Record<string, unknown>, path: string, errors: FieldError[]): unknown[] | undefined {
  const name = t.name as string;
  const shape = t.shape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
    errors.push({ path: `${path}.shape`, message: `expected a list of non-negative whole numbers such as [N], got ${describeValue(shape)}` });
    return undefined;
  }
  if (shape.length > 1 && (shape as number[]).slice(1).some((d) => d !== 1)) {
    errors.push({ path: `${path}.shape`, message: `input '${name}' holds one value per order: expected shape [N] or [N, 1], got [${shape.join(', ')}]` });
    return undefined;
  }
  const datatype = t.datatype;
  const spec = columnSpec(name) as ColumnSpec;
  const wantsText = datatypeOf(spec) === 'BYTES';
  const okType = datatype === 'BYTES' ? (wantsText || spec.kind === 'category') : typeof datatype === 'string' && NUMERIC_DATATYPES.has(datatype) && !(spec.unit === 'label');
  if (!okType) {
    errors.push({ path: `${path}.datatype`, message: `input '${name}' expects datatype ${datatypeOf(spec)}, got ${describeValue(datatype)}` });
    return undefined;
  }
  if (!Array.isArray(t.data)) {
    errors.push({ path: `${path}.data`, message: `expected a list of values, got ${describeValue(t.data)}` });
    return undefined;
  }
  const data = flatten(t.data);
  if (!data) {
    errors.push({ path: `${path}.data`, message: `nested deeper than ${MAX_DATA_DEPTH} levels; expected shape [N] or [N, 1]` });
    return undefined;
  }
  // Values must agree with the declared datatype (null stands for a missing value).
  const wantNumber = datatype !== 'BYTES';
  const bad = data.findIndex((v) => v !== null && (wantNumber ? typeof v !== 'number' : typeof v !== 'string'));
  if (bad >= 0) {
    errors.push({ path: `${path}.data[${bad}]`, message: `datatype ${String(datatype)} needs ${wantNumber ? 'numbers' : 'strings'}, got ${describeValue(data[bad])}` });
    return undefined;
  }
  const expected = (shape as number[]).reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    errors.push({ path: `${path}.data`, message: `shape [${shape.join(', ')}] needs ${expected} values, got ${data.length}` });
    return undefined;
  }
  return data;
}

/** Parses an OIP inference request body into order objects. Throws InferRequestError. */
export function parseInferRequest(body: unknown): ParsedInferRequest {
  const errors: FieldError[] = [];
  if (!isObject(body)) throw new InferRequestError([{ path: '', message: `expected an inference request object with "inputs", got ${describeValue(body)}` }]);
  const id = body.id === undefined || body.id === null ? undefined : typeof body.id === 'string' ? body.id : undefined;
  if (body.id !== undefined && body.id !== null && typeof body.id !== 'string') errors.push({ path: 'id', message: `expected a string, got ${describeValue(body.id)}` });
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) {
    throw new InferRequestError([...errors, { path: 'inputs', message: `expected a non-empty list of input tensors, got ${describeValue(body.inputs)}` }]);
  }
  const columns = new Map<string, unknown[]>();
  let rows = -1;
  body.inputs.forEach((t: unknown, i: number) => {
    const path = `inputs[${i}]`;
    if (!isObject(t) || typeof t.name !== 'string') {
      errors.push({ path, message: `expected a tensor {name, shape, datatype, data}, got ${describeValue(t)}` });
      return;
    }
    if (!ORDER_INPUT_COLUMNS.includes(t.name)) {
      errors.push({ path: `${path}.name`, message: `unknown input '${t.name}'; inputs are ${ORDER_INPUT_COLUMNS.join(', ')}` });
      return;
    }
    if (columns.has(t.name)) {
      errors.push({ path: `${path}.name`, message: `input '${t.name}' given twice` });
      return;
    }
    const data = tensorData(t, path, errors);
    if (!data) return;
    if (rows >= 0 && data.length !== rows) {
      errors.push({ path: `${path}.shape`, message: `input '${t.name}' has ${data.length} rows but earlier inputs have ${rows}; every input needs the same N` });
      return;
    }
    rows = data.length;
    columns.set(t.name, data);
  });
  for (const name of ORDER_INPUT_COLUMNS) {
    if (!columns.has(name) && !(columnSpec(name) as ColumnSpec).nullable && !errors.some((e) => e.message.includes(`'${name}'`))) {
      errors.push({ path: 'inputs', message: `required input '${name}' is missing` });
    }
  }
  if (rows === 0) errors.push({ path: 'inputs', message: 'tensors hold no rows (N = 0)' });
  const outputs: string[] = [];
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) errors.push({ path: 'outputs', message: `expected a list of {name}, got ${describeValue(body.outputs)}` });
    else body.outputs.forEach((o: unknown, i: number) => {
      if (!isObject(o) || o.name !== OUTPUT_NAME) errors.push({ path: `outputs[${i}].name`, message: `the only output is '${OUTPUT_NAME}', got ${describeValue(isObject(o) ? o.name : o)}` });
      else outputs.push(OUTPUT_NAME);
    });
  }
  if (errors.length > 0) throw new InferRequestError(errors);
  const orders: Record<string, unknown>[] = [];
  for (let r = 0; r < rows; r++) {
    const order: Record<string, unknown> = {};
    for (const [name, data] of columns) order[name] = data[r];
    orders.push(order);
  }
  return { id, orders, outputs };
}

/**
 * An inference request's orders, validated by `parse` (the event loop's counts metrics, a batch
 * worker's does not); order errors are reported by tensor element. Throws InferRequestError.
 */
export function parseInferOrders(body: unknown, parse: (orders: Record<string, unknown>[]) => ParsedOrders): { request: ParsedInferRequest; parsed: ParsedOrders } {
  const request = parseInferRequest(body);
  try {
    return { request, parsed: parse(request.orders) };
  } catch (err) {
    if (err instanceof OrderValidationError) {
      throw new InferRequestError(err.errors.map((e): FieldError => ({ path: tensorPath(e.path), message: e.message })));
    }
    throw err;
  }
}

/** The JSON answer to an inference request, shared by the event loop and the batch workers. */
export function inferAnswer(model: { name: string; version: string }, id: string, predictions: Float64Array): string {
  return JSON.stringify({
    model_name: model.name,
    model_version: model.version,
    id,
    outputs: [{ name: OUTPUT_NAME, datatype: 'FP64', shape: [predictions.length], data: Array.from(predictions) }],
  });
}

/** Rewrites an order-validation path (`[3].subtotal`) as the tensor element it came from. */
export function tensorPath(orderPath: string): string {
  const m = /^\[(\d+)\]\.(.+)$/.exec(orderPath);
  return m ? `inputs[name=${m[2]}].data[${m[1]}]` : orderPath;
}
