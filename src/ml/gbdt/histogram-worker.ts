/**
 * Worker side of the parallel histogram builder: waits on a shared control word, builds the
 * histogram of its row chunk into its own shared buffer, signals done. All arrays are views of
 * SharedArrayBuffers owned by the main thread; nothing is copied per job.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { accumulateHistogram } from './histogram.js';
import { CTRL_DONE, CTRL_END, CTRL_SEQ, CTRL_SLOTS, CTRL_START, type WorkerSetup } from './parallel.js';

const setup = workerData as WorkerSetup;
const ctrl = new Int32Array(setup.ctrl);
const rowBins = new Uint8Array(setup.rowBins);
const binOffset = Int32Array.from(setup.binOffset);
const packed = new Float64Array(setup.packed);
const idx = new Uint32Array(setup.idx);
const hist = new Float64Array(setup.hist);
const base = setup.index * CTRL_SLOTS;

parentPort?.postMessage('ready');
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, base + CTRL_SEQ, seen);
  const seq = Atomics.load(ctrl, base + CTRL_SEQ);
  if (seq < 0) break;
  if (seq === seen) continue;
  seen = seq;
  hist.fill(0);
  accumulateHistogram(rowBins, setup.cols, binOffset, packed, idx, ctrl[base + CTRL_START], ctrl[base + CTRL_END], hist);
  Atomics.store(ctrl, base + CTRL_DONE, seq);
  Atomics.notify(ctrl, base + CTRL_DONE);
}
parentPort?.close();
