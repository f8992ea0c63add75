/**
 * A Predictor whose scoring runs on a worker thread (predictor-thread-worker.ts), so the
 * caller's thread keeps reading and parsing while a batch is scored: the tree engine, like
 * onnxruntime-node's session, scores synchronously on the thread that calls it, so on one
 * thread parsing and scoring take turns. `etaops predict` uses it to overlap the two.
 *
 * Features are built on the caller's thread (the one feature function, and a Float32 matrix is
 * cheap to hand over: its memory is transferred, not copied).
 */
import { Worker } from 'node:worker_threads';
import type { Dataset } from '../dataset/schema.js';
import { buildFeatures } from '../features/build.js';
import type { FeatureMatrix } from '../gbdt/types.js';
import { readModelDir, ModelDirError, type ModelFiles, type ModelMeta } from './meta.js';
import { checkModelFiles, type Predictor, type PredictorOptions } from './predictor.js';
import { exitOf, movable, stopWorker } from './worker-lifecycle.js';

export interface ThreadRequest {
  id: number;
  data: Float32Array;
  rows: number;
  cols: number;
}

export type ThreadReply =
  | { ready: true; engine: string }
  | { loadError: string }
  | { id: number; out: Float64Array }
  | { id: number; error: string };

export interface ThreadWorkerData {
  files: ModelFiles;
  options: PredictorOptions;
}

/** Loads the model on a new worker thread; rejects as loadPredictor would if it cannot load. */
export async function loadPredictorOnThread(source: string | ModelFiles, options: PredictorOptions = {}): Promise<Predictor> {
  const files = typeof source === 'string' ? await readModelDir(source) : checkModelFiles(source);
  const meta = files.meta;
  const workerData: ThreadWorkerData = { files, options };
  const worker = new Worker(new URL('./predictor-thread-worker.js', import.meta.url), { workerData });
  const exited = exitOf(worker);
  const engine = await new Promise<string>((resolve, reject) => {
    // Whichever comes first settles it; the others then do nothing.
    worker.once('message', (m: ThreadReply) => ('ready' in m ? resolve(m.engine) : reject(new ModelDirError('loadError' in m ? m.loadError : 'the scoring thread did not start'))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the scoring thread exited (code ${code}) before it loaded the model`)));
  }).catch(async (err: unknown) => {
    // It ends on its own after a failed load; stopWorker also covers one that did not.
    await stopWorker(worker, exited);
    throw err;
  });
  return new ThreadPredictor(meta, worker, exited, `${engine}, on a worker thread`);
}

class ThreadPredictor implements Predictor {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (out: Float64Array) => void; reject: (err: Error) => void }>();
  private failure: Error | undefined;
  private closed = false;

  constructor(readonly meta: ModelMeta, private readonly worker: Worker, private readonly exited: Promise<number>, readonly engine: string) {
    worker.on('message', (m: ThreadReply) => {
      if (!('id' in m)) return;
      const task = this.pending.get(m.id);
      if (!task) return;
      this.pending.delete(m.id);
      if ('out' in m) task.resolve(m.out);
      else task.reject(new Error(m.error));
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`the scoring thread exited (code ${code})`)));
  }

  predict(ds: Dataset, rows?: Int32Array): Promise<Float64Array> {
    return this.score(buildFeatures(ds, this.meta.featureSpec, rows), true);
  }

  predictFeatures(X: FeatureMatrix): Promise<Float64Array> {
    return this.score(X, false);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await stopWorker(this.worker, this.exited);
  }

  /** `own`: X was built here for this call, so its memory can be handed over instead of copied. */
  private score(X: FeatureMatrix, own: boolean): Promise<Float64Array> {
    if (this.closed) return Promise.reject(new Error('predictor is closed'));
    if (this.failure) return Promise.reject(this.failure);
    const want = this.meta.onnx.numFeatures;
    if (X.cols !== want) return Promise.reject(new RangeError(`feature matrix has ${X.cols} columns, the model expects ${want}`));
    const data = own ? movable(X.data) : X.data.slice();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: ThreadRequest = { id, data, rows: X.rows, cols: X.cols };
      this.worker.postMessage(request, [data.buffer as ArrayBuffer]);
    });
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.failure ??= err;
    for (const task of this.pending.values()) task.reject(this.failure);
    this.pending.clear();
  }
}
