/**
 * Worker threads that answer large /predict and OIP infer requests off the event loop.
 *
 * Why: a 1,000-order batch is about 8 ms of CPU (JSON parse, validation, features,
 * onnxruntime, the JSON answer). On the event loop it stalls every other request that long,
 * and one event loop uses one core. Each worker holds its own copy of the served model, loaded
 * from the same bytes (so the same sha256), and does all of that work; the event loop only
 * reads the body and writes the answer. Small requests stay on the event loop, where the
 * micro-batcher merges them: a thread hop would cost more than scoring them.
 *
 * Workers start in the background when a model is installed. Until one is ready, or when none
 * can start, requests are scored on the event loop as before, so readiness never waits on them.
 * A worker that dies fails its in-flight requests (500) and is replaced; after repeated
 * failures to start, the pool gives up and says so once.
 */
import { Worker } from 'node:worker_threads';
import type { ModelFiles } from '../ml/model/meta.js';
import { exitOf, movable, stopWorker } from '../ml/model/worker-lifecycle.js';
import type { FieldError, OrderLimits } from './order-input.js';
import type { BatchWorkerData } from './batch-worker.js';
import type { RowIds } from './predict-answer.js';

/** Bodies at least this large go to a worker (about 80 orders): below it the hop costs more than it frees. */
export const OFF_THREAD_MIN_BYTES = 32 * 1024;

/** The protocol of a request body: the seed's /predict, or the Open Inference Protocol's infer. */
export type BatchKind = 'predict' | 'infer';

export interface BatchTaskMessage {
  taskId: number;
  kind: BatchKind;
  bytes: Uint8Array;
  /** The request's id (X-Request-Id or generated), for rows that bring none. */
  requestId: string;
  /** Serialise each order for the prediction log (only when there is one). */
  logFeatures: boolean;
}

export type BatchOutcome =
  | {
    ok: true;
    ids: RowIds;
    /** For X-Request-Id (/predict only). */
    headerId: string | undefined;
    /** The JSON answer, UTF-8. */
    body: Uint8Array;
    predictions: Float64Array;
    createdAt: Float64Array;
    featuresJson: string[] | undefined;
    unknownFields: string[];
    missingFields: [string, number][];
  }
  /** The orders failed validation: what parseOrders threw. */
  | { ok: false; invalidOrder: FieldError[] }
  /** The inference request failed validation: what parseInferOrders threw. */
  | { ok: false; invalidInfer: FieldError[] }
  /** The body is not JSON (or empty): the HttpError parseJsonBytes threw. */
  | { ok: false; http: { status: number; message: string; details: FieldError[] } };

export type WorkerReply =
  | { ready: true }
  | { taskId: number; outcome: BatchOutcome }
  | { taskId: number; failure: string };

export interface BatchPoolOptions {
  size: number;
  files: ModelFiles;
  /** The served model's name and version, as answers name them. */
  name: string;
  version: string;
  limits: OrderLimits;
  log: (line: string) => void;
}

interface Slot {
  worker: Worker;
  exited: Promise<number>;
  ready: boolean;
  pending: Map<number, { resolve: (o: BatchOutcome) => void; reject: (err: Error) => void }>;
}

/** Consecutive workers that died before they were ready, after which the pool stops trying. */
const MAX_FAILED_STARTS = 3;
const RESPAWN_DELAY_MS = 1000;

export class BatchWorkerPool {
  private readonly slots: Slot[] = [];
  private nextTaskId = 1;
  private closed = false;
  private failedStarts = 0;

  constructor(private readonly opts: BatchPoolOptions) {
    for (let i = 0; i < opts.size; i++) this.spawn();
  }

  /** Workers ready to take a request. */
  get readyWorkers(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  /**
   * Sends a request body to the ready worker with the fewest requests in hand; undefined when
   * no worker is ready (the caller scores it on the event loop). Otherwise the worker may now
   * own `bytes`' memory: the caller must not read them again.
   */
  submit(kind: BatchKind, bytes: Uint8Array, requestId: string, logFeatures: boolean): Promise<BatchOutcome> | undefined {
    let slot: Slot | undefined;
    for (const s of this.slots) if (s.ready && (!slot || s.pending.size < slot.pending.size)) slot = s;
    if (!slot || this.closed) return undefined;
    const taskId = this.nextTaskId++;
    // A body read in several chunks was concatenated into memory of its own and moves as it is;
    // a one-chunk body is a view into the socket's read buffer and is copied.
    const own = movable(bytes);
    const target = slot;
    return new Promise((resolve, reject) => {
      target.pending.set(taskId, { resolve, reject });
      const message: BatchTaskMessage = { taskId, kind, bytes: own, requestId, logFeatures };
      target.worker.postMessage(message, [own.buffer]);
    });
  }

  /**
   * Stops every worker once it has answered what it holds (the model retires only once it has
   * nothing in flight); resolves to their exit codes (0: ended on their own).
   */
  close(): Promise<number[]> {
    this.closed = true;
    return Promise.all(this.slots.map((s) => stopWorker(s.worker, s.exited)));
  }

  private spawn(): void {
    const workerData: BatchWorkerData = { files: this.opts.files, name: this.opts.name, version: this.opts.version, limits: this.opts.limits };
    const worker = new Worker(new URL('./batch-worker.js', import.meta.url), { workerData });
    // The server's sockets keep the process alive; an idle worker must not keep it from exiting.
    worker.unref();
    const slot: Slot = { worker, exited: exitOf(worker), ready: false, pending: new Map() };
    this.slots.push(slot);
    let lastError = '';
    worker.on('message', (m: WorkerReply) => {
      if ('ready' in m) {
        slot.ready = true;
        this.failedStarts = 0;
        return;
      }
      const task = slot.pending.get(m.taskId);
      if (!task) return;
      slot.pending.delete(m.taskId);
      if ('outcome' in m) task.resolve(m.outcome);
      else task.reject(new Error(`batch worker failed: ${m.failure}`));
    });
    worker.on('error', (err) => { lastError = err.stack ?? err.message; });
    worker.on('exit', (code) => this.onExit(slot, code, lastError));
  }

  private onExit(slot: Slot, code: number, lastError: string): void {
    this.slots.splice(this.slots.indexOf(slot), 1);
    const why = lastError === '' ? `exit code ${code}` : lastError.split('\n')[0];
    for (const task of slot.pending.values()) task.reject(new Error(`batch worker stopped while scoring (${why})`));
    if (this.closed) return;
    if (!slot.ready && ++this.failedStarts >= MAX_FAILED_STARTS) {
      this.opts.log(`etaops serve: batch workers cannot start (${why}); large batches are scored on the event loop`);
      if (lastError !== '') this.opts.log(lastError);
      return;
    }
    this.opts.log(`etaops serve: a batch worker stopped (${why}); starting another`);
    setTimeout(() => { if (!this.closed) this.spawn(); }, RESPAWN_DELAY_MS).unref();
  }
}
