/**
 * Histogram building split by rows across worker threads. Packed histograms are exact integer
 * sums (histogram.ts), so the chunk results add up to exactly the single-threaded histogram:
 * the number of threads never changes the model.
 *
 * Synchronisation is one Int32 control block in a SharedArrayBuffer (Atomics.wait/notify), so a
 * job costs microseconds; small nodes are still built on the calling thread, where the hand-off
 * would cost more than it saves.
 */
import { Worker } from 'node:worker_threads';
import type { BinnedFeatures } from './binning.js';
import { accumulateHistogram } from './histogram.js';

export const CTRL_SEQ = 0;
export const CTRL_START = 1;
export const CTRL_END = 2;
export const CTRL_DONE = 3;
export const CTRL_SLOTS = 4;

/** Below this many bin updates a node's histogram is built on the calling thread. */
export const MIN_PARALLEL_UPDATES = 400_000;
/** A worker that does not answer within this time is treated as lost. */
const WORKER_TIMEOUT_MS = 120_000;

export interface WorkerSetup {
  index: number;
  cols: number;
  ctrl: SharedArrayBuffer;
  rowBins: SharedArrayBuffer;
  binOffset: Int32Array;
  packed: SharedArrayBuffer;
  idx: SharedArrayBuffer;
  hist: SharedArrayBuffer;
}

export function sharedFloat64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(n * 8));
}

export function sharedUint32(n: number): Uint32Array {
  return new Uint32Array(new SharedArrayBuffer(n * 4));
}

export class ParallelHistogramBuilder {
  private seq = 0;

  private constructor(
    private readonly binned: BinnedFeatures,
    private readonly packed: Float64Array,
    private readonly idx: Uint32Array,
    private readonly workers: Worker[],
    private readonly ctrl: Int32Array,
    private readonly workerHists: Float64Array[],
  ) {}

  /** Starts `threads - 1` workers (the calling thread takes a chunk too). Arrays must be shared. */
  static async start(binned: BinnedFeatures, packed: Float64Array, idx: Uint32Array, threads: number): Promise<ParallelHistogramBuilder> {
    for (const [name, a] of [['rowBins', binned.rowBins], ['packed', packed], ['idx', idx]] as const) {
      if (!(a.buffer instanceof SharedArrayBuffer)) throw new Error(`parallel histograms need ${name} in a SharedArrayBuffer`);
    }
    const n = threads - 1;
    const ctrlBuf = new SharedArrayBuffer(n * CTRL_SLOTS * 4);
    const workers: Worker[] = [];
    const hists: Float64Array[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const hist = sharedFloat64(binned.totalBins);
        hists.push(hist);
        const setup: WorkerSetup = {
          index: i,
          cols: binned.cols,
          ctrl: ctrlBuf,
          rowBins: binned.rowBins.buffer as SharedArrayBuffer,
          binOffset: binned.binOffset,
          packed: packed.buffer as SharedArrayBuffer,
          idx: idx.buffer as SharedArrayBuffer,
          hist: hist.buffer as SharedArrayBuffer,
        };
        workers.push(new Worker(new URL('./histogram-worker.js', import.meta.url), { workerData: setup }));
      }
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('message', () => resolve());
              w.once('error', reject);
              w.once('exit', (code) => reject(new Error(`histogram worker exited with code ${code} during start-up`)));
            }),
        ),
      );
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return new ParallelHistogramBuilder(binned, packed, idx, workers, new Int32Array(ctrlBuf), hists);
  }

  /** Same contract as buildHistogram; `packed` and `idx` must be the arrays given to start(). */
  readonly build = (packed: Float64Array, idx: Uint32Array, start: number, end: number, hist: Float64Array): void => {
    if (packed !== this.packed || idx !== this.idx) throw new Error('parallel histogram builder called with foreign arrays');
    const { rowBins, cols, binOffset } = this.binned;
    const rows = end - start;
    hist.fill(0);
    if (rows * cols < MIN_PARALLEL_UPDATES) {
      accumulateHistogram(rowBins, cols, binOffset, packed, idx, start, end, hist);
      return;
    }
    const parts = this.workers.length + 1;
    const chunk = Math.ceil(rows / parts);
    const seq = ++this.seq;
    const ctrl = this.ctrl;
    for (let w = 0; w < this.workers.length; w++) {
      const base = w * CTRL_SLOTS;
      ctrl[base + CTRL_START] = Math.min(end, start + chunk * (w + 1));
      ctrl[base + CTRL_END] = Math.min(end, start + chunk * (w + 2));
      Atomics.store(ctrl, base + CTRL_SEQ, seq);
      Atomics.notify(ctrl, base + CTRL_SEQ);
    }
    accumulateHistogram(rowBins, cols, binOffset, packed, idx, start, Math.min(end, start + chunk), hist);
    for (let w = 0; w < this.workers.length; w++) {
      const at = w * CTRL_SLOTS + CTRL_DONE;
      const deadline = Date.now() + WORKER_TIMEOUT_MS;
      for (;;) {
        const done = Atomics.load(ctrl, at);
        if (done === seq) break;
        if (Date.now() > deadline) throw new Error(`histogram worker ${w} did not answer within ${WORKER_TIMEOUT_MS / 1000}s`);
        Atomics.wait(ctrl, at, done, 1000);
      }
      const h = this.workerHists[w];
      for (let i = 0; i < hist.length; i++) hist[i] += h[i];
    }
  };

  async close(): Promise<void> {
    for (let w = 0; w < this.workers.length; w++) {
      Atomics.store(this.ctrl, w * CTRL_SLOTS + CTRL_SEQ, -1);
      Atomics.notify(this.ctrl, w * CTRL_SLOTS + CTRL_SEQ);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
