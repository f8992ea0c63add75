/**
 * A batch worker thread (started by batch-pool.ts): its own copy of the served model, and the
 * whole of a large /predict request that is CPU work: JSON parse, validation, features,
 * scoring and the JSON answer. The event loop only moves bytes in and out.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadPredictor } from '../ml/model/predictor.js';
import type { ModelFiles } from '../ml/model/meta.js';
import { HttpError, parseJsonBytes } from './http-json.js';
import { EXAMPLE_ORDER, OrderValidationError, createdAtOf, parseOrders, rowsToDataset, type OrderLimits } from './order-input.js';
import { predictAnswer } from './predict-answer.js';
import type { BatchOutcome, BatchTaskMessage, WorkerReply } from './batch-pool.js';

export interface BatchWorkerData {
  files: ModelFiles;
  version: string;
  limits: OrderLimits;
}

const port = parentPort;
if (!port) throw new Error('batch-worker.ts runs as a worker thread (see batch-pool.ts)');
const { files, version, limits } = workerData as BatchWorkerData;

/** UTF-8 bytes in memory of their own (to be transferred: Buffer.from may hand out a slice of a shared pool). */
function utf8(text: string): Uint8Array {
  const out = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  out.write(text);
  return out;
}

async function answer(task: BatchTaskMessage): Promise<{ outcome: BatchOutcome; transfer: ArrayBuffer[] }> {
  let parsed;
  try {
    const body = parseJsonBytes(task.bytes);
    parsed = parseOrders(body, limits);
    const predictions = await predictor.predict(rowsToDataset(parsed.rows));
    const reply = predictAnswer(parsed, predictions, version, () => task.requestId);
    const body8 = utf8(reply.body);
    const createdAt = createdAtOf(parsed.rows);
    const items = Array.isArray(body) ? body : [body];
    const featuresJson = task.logFeatures ? items.map((item) => JSON.stringify(item)) : undefined;
    return {
      outcome: {
        ok: true,
        // Rows without their own id need no list: a batch of them is sent as an empty one.
        ids: reply.ids.own.some((id) => id !== undefined) ? reply.ids : { ...reply.ids, own: [] }, headerId: reply.headerId, body: body8,
        predictions, createdAt, featuresJson,
        unknownFields: parsed.unknownFields, missingFields: [...parsed.missingFields],
      },
      transfer: [body8.buffer as ArrayBuffer, predictions.buffer as ArrayBuffer, createdAt.buffer as ArrayBuffer],
    };
  } catch (err) {
    if (err instanceof OrderValidationError) return { outcome: { ok: false, invalidOrder: err.errors }, transfer: [] };
    if (err instanceof HttpError) return { outcome: { ok: false, http: { status: err.status, message: err.message, details: err.details } }, transfer: [] };
    throw err;
  }
}

const predictor = await loadPredictor(files, { threads: 1 });
// Warm up before taking work, as the event loop's copy is: the first task must not pay for lazy set-up.
await predictor.predict(rowsToDataset(parseOrders(EXAMPLE_ORDER).rows));
port.postMessage({ ready: true } satisfies WorkerReply);
port.on('message', (task: BatchTaskMessage) => {
  answer(task).then(
    ({ outcome, transfer }) => port.postMessage({ taskId: task.taskId, outcome } satisfies WorkerReply, transfer),
    (err: unknown) => port.postMessage({ taskId: task.taskId, failure: (err as Error)?.stack ?? String(err) } satisfies WorkerReply),
  );
});
