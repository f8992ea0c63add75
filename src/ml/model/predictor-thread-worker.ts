/** The scoring thread of predictor-thread.ts: one Predictor, feature matrices in, predictions out. */
import { parentPort, workerData } from 'node:worker_threads';
import { loadPredictor } from './predictor.js';
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
  // A matrix at a time, or { close: true }: release the session once nothing is in hand and end
  // (see stopWorker: this thread must not be terminated inside onnxruntime).
  let inHand = 0;
  let closing = false;
  const closeWhenIdle = (): void => {
    if (closing && inHand === 0) void predictor.close().finally(() => port.close());
  };
  port.on('message', (m: ThreadRequest | { close: true }) => {
    if ('close' in m) {
      closing = true;
      closeWhenIdle();
      return;
    }
    inHand++;
    predictor.predictFeatures({ data: m.data, rows: m.rows, cols: m.cols }).then(
      (out) => port.postMessage({ id: m.id, out } satisfies ThreadReply, [out.buffer as ArrayBuffer]),
      (err: unknown) => port.postMessage({ id: m.id, error: (err as Error)?.message ?? String(err) } satisfies ThreadReply),
    ).finally(() => {
      inHand--;
      closeWhenIdle();
    });
  });
  port.postMessage({ ready: true, engine: predictor.engine } satisfies ThreadReply);
}
