/**
 * The /predict answer for scored orders, shared by the event loop and the batch workers so both
 * answer byte for byte alike: one object for a single order, an array for a batch.
 */
import type { ParsedOrders } from './order-input.js';

/**
 * Which id each answered row goes by. A batch's rows without an id of their own are
 * `${batchId}:${i}`; they are not spelled out, since most rows of most batches are such.
 */
export interface RowIds {
  /** Set when the body was an array. */
  batchId?: string;
  /** Each row's own id (a single order's is always set). */
  own: readonly (string | undefined)[];
}

export function rowId(ids: RowIds, i: number): string {
  return ids.own[i] ?? `${ids.batchId}:${i}`;
}

export interface PredictAnswer {
  ids: RowIds;
  /** For X-Request-Id: the single order's id, or the batch's. */
  headerId: string;
  /** The JSON response body. */
  body: string;
}

/** A prediction as JSON: what JSON.stringify writes (shortest round trip; null if not finite). */
function jsonNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}

/**
 * `requestId` is the request's own id (X-Request-Id, else a generated one); it is asked for
 * only when a row has none of its own, so a single order with an id costs no generated id.
 */
export function predictAnswer(parsed: Pick<ParsedOrders, 'batch' | 'requestIds'>, predictions: Float64Array, version: string, requestId: () => string): PredictAnswer {
  if (!parsed.batch) {
    const id = parsed.requestIds[0] ?? requestId();
    return { ids: { own: [id] }, headerId: id, body: JSON.stringify({ prediction: predictions[0], model_version: version, request_id: id }) };
  }
  const batchId = requestId();
  // Written by hand: JSON.stringify of an array of objects costs about 3x as much, and the
  // strings in it (version, ids) are escaped by JSON.stringify all the same.
  const head = `,"model_version":${JSON.stringify(version)},"request_id":`;
  const generated = JSON.stringify(`${batchId}:`).slice(0, -1);
  const parts = new Array<string>(predictions.length);
  for (let i = 0; i < predictions.length; i++) {
    const own = parsed.requestIds[i];
    parts[i] = `{"prediction":${jsonNumber(predictions[i])}${head}${own === undefined ? `${generated}${i}"` : JSON.stringify(own)}}`;
  }
  return { ids: { batchId, own: parsed.requestIds }, headerId: batchId, body: `[${parts.join(',')}]` };
}
