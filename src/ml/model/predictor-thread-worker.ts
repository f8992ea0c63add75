/** The scoring thread of predictor-thread.ts: one Predictor, feature matrices in, predictions out. */
import { parentPort, workerData } from 'node:worker_threads';
import { loadPredictor } from './predictor.js';
import { serveUntilClosed } from './worker-lifecycle.js';
import type { ThreadReply, ThreadRequest, ThreadWorkerData } from './predictor-thread.js';

const port = parentPort;
if (!port) throw new Error('predictor-thread-worker.ts runs as a worker thread (see predictor-thread.ts)');
const { files, options } = workerData as ThreadWorkerData;

const predictor = await loadPredictor(files, options).catch((err: unknown) => {
  // Said as a message for the caller to word; with no listener on the port the thread then ends.
  port.postMessage({ loadError: (err as Error)?.message ?? String(err) } satisfies ThreadReply);
  return undefined;
});
if (predictor) {
  serveUntilClosed<ThreadRequest>(port, (m) => predictor.predictFeatures({ data: m.data, rows: m.rows, cols: m.cols }).then(
    (out) => port.postMessage({ id: m.id, out } satisfies ThreadReply, [out.buffer as ArrayBuffer]),
    (err: unknown) => port.postMessage({ id: m.id, error: (err as Error)?.message ?? String(err) } satisfies ThreadReply),
  ), () => predictor.close());
  port.postMessage({ ready: true, engine: predictor.engine } satisfies ThreadReply);
}
