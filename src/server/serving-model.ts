/**
 * One loaded model as the server uses it: its identity, its predictor, the micro-batcher
 * that merges concurrent requests into one model run, and the batch workers (batch-pool.ts)
 * that answer large requests with their own copies of it.
 *
 * Micro-batching is "natural": a request that finds the model idle starts a run in the check
 * phase of the same event-loop turn (setImmediate: no waiting window, so an idle server adds no
 * latency), which every request read in that poll phase joins; requests that arrive while a run
 * is in flight go together in the next one. Under load N small runs become one and their answers
 * leave together; deferring to the check phase measured about 1.4x the throughput of running
 * each request at once (test/bench/serve, 8 connections).
 *
 * Reload: the server swaps in a new ServingModel and retires the old one; a retired model
 * finishes what it has queued and closes its predictor when its last request is answered,
 * so no request ever sees a closed session.
 */
import type { Dataset } from '../ml/dataset/schema.js';
import type { ModelFiles } from '../ml/model/meta.js';
import { rowsToDataset, type OrderLimits, type OrderRow } from './order-input.js';
import { BatchWorkerPool, type BatchKind, type BatchOutcome } from './batch-pool.js';

/** What the server needs of a model (the ML pipeline's Predictor satisfies it). */
export interface ModelPredictor {
  predict(ds: Dataset): Promise<Float64Array>;
  close(): Promise<void> | void;
  /** How it scores, for the log line naming the served model. */
  readonly engine?: string;
}

export interface ModelIdentity {
  /** Registered model name, e.g. "eta". */
  name: string;
  /** Version as text ("3"; "local" for a model directory outside the registry). */
  version: string;
  /** sha256 of model.onnx. */
  sha256: string;
  /** Where it came from, for logs (never credentials). */
  source: string;
  /** Registry version number when the model came from the registry (prediction log key). */
  registryVersion?: number;
}

export interface LoadedModel extends ModelIdentity {
  predictor: ModelPredictor;
  /** The model's bytes, for batch workers to load their own copies (none: no batch workers). */
  files?: ModelFiles;
}

export interface ServingOptions {
  /** Called with the row count of every model run. */
  onRun?: (rows: number) => void;
  /** Batch worker threads for large requests (batch-pool.ts); 0 = none. */
  batchWorkers?: number;
  limits?: OrderLimits;
  log?: (line: string) => void;
}

interface Pending {
  rows: OrderRow[];
  resolve: (out: Float64Array) => void;
  reject: (err: unknown) => void;
}

/** Most rows merged into one model run; a single larger request still runs whole. */
const MAX_MERGED_ROWS = 4096;

export class ServingModel {
  readonly identity: ModelIdentity;
  private readonly predictor: ModelPredictor;
  private queue: Pending[] = [];
  private running = false;
  private inFlight = 0;
  private retired = false;
  private closed: Promise<void> | undefined;
  private readonly onRun: ((rows: number) => void) | undefined;
  private readonly pool: BatchWorkerPool | undefined;

  constructor(model: LoadedModel, opts: ServingOptions = {}) {
    const { predictor, files, ...identity } = model;
    this.identity = identity;
    this.predictor = predictor;
    this.onRun = opts.onRun;
    const size = opts.batchWorkers ?? 0;
    if (files && size > 0 && opts.limits) {
      this.pool = new BatchWorkerPool({ size, files, name: identity.name, version: identity.version, limits: opts.limits, log: opts.log ?? (() => undefined) });
    }
  }

  /** Batch workers ready to take a request now. */
  get batchWorkersReady(): number {
    return this.pool?.readyWorkers ?? 0;
  }

  /**
   * Answers a whole request body on a batch worker; undefined when none is ready (the caller
   * scores it on the event loop).
   */
  submitBatch(kind: BatchKind, bytes: Uint8Array, requestId: string, logFeatures: boolean): Promise<BatchOutcome> | undefined {
    if (this.closed) return undefined;
    const pending = this.pool?.submit(kind, bytes, requestId, logFeatures);
    if (!pending) return undefined;
    this.inFlight++;
    return pending.then((outcome) => {
      if (outcome.ok) this.onRun?.(outcome.predictions.length);
      return outcome;
    }).finally(() => this.settle());
  }

  /** Predicts `rows`; resolves to one value per row (a view into the run's output). */
  predictRows(rows: OrderRow[]): Promise<Float64Array> {
    if (this.closed) return Promise.reject(new Error(`model ${this.identity.name} v${this.identity.version} is closed`));
    this.inFlight++;
    const p = new Promise<Float64Array>((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => this.runQueued());
      }
    });
    return p.finally(() => this.settle());
  }

  /** One dummy prediction so the first real request does not pay for lazy initialisation. */
  async warm(rows: OrderRow[]): Promise<void> {
    const out = await this.predictRows(rows);
    if (out.length !== rows.length || !out.every((v) => Number.isFinite(v))) {
      throw new Error(`model ${this.identity.name} v${this.identity.version} gave ${out.length} non-finite or missing values for ${rows.length} warm-up rows`);
    }
  }

  /** Stop taking work; close the predictor once in-flight requests are answered. */
  retire(): Promise<void> {
    this.retired = true;
    if (this.inFlight === 0) return this.close();
    return new Promise((resolve) => {
      this.onIdle = () => { void this.close().then(resolve, resolve); };
    });
  }

  get pending(): number {
    return this.inFlight;
  }

  private onIdle: (() => void) | undefined;

  private settle(): void {
    this.inFlight--;
    if (this.retired && this.inFlight === 0 && this.onIdle) {
      const f = this.onIdle;
      this.onIdle = undefined;
      f();
    }
  }

  private close(): Promise<void> {
    this.closed ??= Promise.resolve()
      .then(() => Promise.all([this.predictor.close(), this.pool?.close()]))
      .then(() => undefined, () => undefined);
    return this.closed;
  }

  private runQueued(): void {
    if (this.queue.length === 0) {
      this.running = false;
      return;
    }
    const batch = this.takeBatch();
    const rows = batch.length === 1 ? batch[0].rows : batch.flatMap((p) => p.rows);
    let ds: Dataset;
    try {
      ds = rowsToDataset(rows);
    } catch (err) {
      for (const p of batch) p.reject(err);
      this.runQueued();
      return;
    }
    this.onRun?.(rows.length);
    void this.predictor.predict(ds).then(
      (out) => {
        if (out.length !== rows.length) {
          const err = new Error(`model returned ${out.length} predictions for ${rows.length} rows`);
          for (const p of batch) p.reject(err);
          return;
        }
        let offset = 0;
        for (const p of batch) {
          p.resolve(out.subarray(offset, offset + p.rows.length));
          offset += p.rows.length;
        }
      },
      (err: unknown) => { for (const p of batch) p.reject(err); },
    ).finally(() => this.runQueued()).catch(() => undefined);
  }

  private takeBatch(): Pending[] {
    let n = 1;
    let rows = this.queue[0].rows.length;
    while (n < this.queue.length && rows + this.queue[n].rows.length <= MAX_MERGED_ROWS) {
      rows += this.queue[n].rows.length;
      n++;
    }
    return this.queue.splice(0, n);
  }
}
