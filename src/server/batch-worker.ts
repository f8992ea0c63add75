/**
 * A batch worker thread (started by batch-pool.ts): its own copy of the served model, and the
 * whole of a large /predict or OIP infer request that is CPU work: JSON parse, validation,
 * features, scoring and the JSON answer. The event loop only moves bytes in and out.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadPredictor } from '../ml/model/predictor.js';
import { serveUntilClosed } from '../ml/model/worker-lifecycle.js';
import type { ModelFiles } from '../ml/model/meta.js';
import { HttpError, parseJsonBytes } from './http-json.js';
import { EXAMPLE_ORDER, OrderValidationError, createdAtOf, parseOrders, rowsToDataset, type OrderLimits, type ParsedOrders } from './order-input.js';
import { InferRequestError, inferAnswer, parseInferOrders } from './oip.js';
import { predictAnswer, type RowIds } from './predict-answer.js';
import type { BatchOutcome, BatchTaskMessage, WorkerReply } from './batch-pool.js';

export interface BatchWorkerData {
  files: ModelFiles;
  /** The served model's name and version, as answers name them. */
  name: string;
  version: string;
  limits: OrderLimits;
}

const port = parentPort;
if (!port) throw new Error('batch-worker.ts runs as a worker thread (see batch-pool.ts)');
const { files, name, version, limits } = workerData as BatchWorkerData;

/** UTF-8 bytes in memory of their own (to be transferred: Buffer.from may hand out a slice of a shared pool). */
function utf8(text: string): Uint8Array {
  const out = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  out.write(text);
  return out;
}

/** What a request's protocol makes of its body: the orders, and how to answer them. */
interface Scorable {
  parsed: ParsedOrders;
  /** The orders as sent, for the prediction log. */
  orders: unknown[];
  answer(predictions: Float64Array): { ids: RowIds; headerId: string | undefined; body: string };
}

function scorable(task: BatchTaskMessage, body: unknown): Scorable {
  if (task.kind === 'infer') {
    const { request, parsed } = parseInferOrders(body, (orders) => parseOrders(orders, limits));
    const id = request.id ?? task.requestId;
    return { parsed, orders: request.orders, answer: (p) => ({ ids: { batchId: id, own: [] }, headerId: undefined, body: inferAnswer({ name, version }, id, p) }) };
  }
  const parsed = parseOrders(body, limits);
  return {
    parsed,
    orders: Array.isArray(body) ? body : [body],
    answer(p) {
      const reply = predictAnswer(parsed, p, version, () => task.requestId);
      // Rows without their own id need no list: a batch of them is sent as an empty one.
      const ids = reply.ids.own.some((id) => id !== undefined) ? reply.ids : { ...reply.ids, own: [] };
      return { ids, headerId: reply.headerId, body: reply.body };
    },
  };
}

async function answer(task: BatchTaskMessage): Promise<{ outcome: BatchOutcome; transfer: ArrayBuffer[] }> {
  try {
    const job = scorable(task, parseJsonBytes(task.bytes));
    const predictions = await predictor.predict(rowsToDataset(job.parsed.rows));
    const reply = job.answer(predictions);
    const body = utf8(reply.body);
    const createdAt = createdAtOf(job.parsed.rows);
    const featuresJson = task.logFeatures ? job.orders.map((order) => JSON.stringify(order)) : undefined;
    return {
      outcome: {
        ok: true, ids: reply.ids, headerId: reply.headerId, body, predictions, createdAt, featuresJson,
        unknownFields: job.parsed.unknownFields, missingFields: [...job.parsed.missingFields],
      },
      transfer: [body.buffer as ArrayBuffer, predictions.buffer as ArrayBuffer, createdAt.buffer as ArrayBuffer],
    };
  } catch (err) {
    if (err instanceof OrderValidationError) return { outcome: { ok: false, invalidOrder: err.errors }, transfer: [] };
    if (err instanceof InferRequestError) return { outcome: { ok: false, invalidInfer: err.errors }, transfer: [] };
    if (err instanceof HttpError) return { outcome: { ok: false, http: { status: err.status, message: err.message, details: err.details } }, transfer: [] };
    throw err;
  }
}

// The same engines as the event loop's copy, so a body gets the same answer on either.
const predictor = await loadPredictor(files, { threads: 1, treeEngine: true });
// Warm up before taking work, as the event loop's copy is: the first task must not pay for lazy set-up.
await predictor.predict(rowsToDataset(parseOrders(EXAMPLE_ORDER).rows));
serveUntilClosed<BatchTaskMessage>(port, (task) => answer(task).then(
  ({ outcome, transfer }) => port.postMessage({ taskId: task.taskId, outcome } satisfies WorkerReply, transfer),
  (err: unknown) => port.postMessage({ taskId: task.taskId, failure: (err as Error)?.stack ?? String(err) } satisfies WorkerReply),
), () => predictor.close());
port.postMessage({ ready: true } satisfies WorkerReply);
