/**
 * The life of a worker thread that holds an onnxruntime session (`etaops predict`'s scoring
 * thread, the server's batch workers): asked to stop, it finishes what it holds, releases the
 * session and ends on its own. terminate() is only the last resort: a thread terminated while
 * onnxruntime is mid-call (loading a model, say) aborts the whole process ("terminate called
 * after throwing an instance of 'Napi::Error'").
 */
import type { MessagePort, Worker } from 'node:worker_threads';

/**
 * `view` itself when it spans the whole of its ArrayBuffer, so that memory can be moved to a
 * worker (postMessage's transfer list) instead of copied; otherwise a copy of its own (a view
 * into a larger buffer, such as a socket read, shares memory that must not move).
 */
export function movable(view: Uint8Array): Uint8Array<ArrayBuffer>;
export function movable(view: Float32Array): Float32Array<ArrayBuffer>;
export function movable(view: Uint8Array | Float32Array): Uint8Array<ArrayBuffer> | Float32Array<ArrayBuffer> {
  const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer;
  if (whole) return view as Uint8Array<ArrayBuffer> | Float32Array<ArrayBuffer>;
  // The typed constructors copy; Buffer#slice would only make another view.
  return view instanceof Float32Array ? new Float32Array(view) : new Uint8Array(view);
}

/** The message that asks a worker to stop. */
export interface CloseMessage {
  close: true;
}

/** The exit code of `worker`; take it when the worker starts (an exit already past is not seen). */
export function exitOf(worker: Worker): Promise<number> {
  return new Promise((resolve) => worker.once('exit', resolve));
}

/**
 * Asks `worker` to stop and waits for its exit (`exited`, from exitOf); terminates it only if it
 * has not ended within `graceMs`. Resolves to the exit code: 0 when the thread ended on its own.
 */
export async function stopWorker(worker: Worker, exited: Promise<number>, graceMs = 10_000): Promise<number> {
  // An unref'd worker would let the process end first, which terminates the thread all the same.
  worker.ref();
  worker.postMessage({ close: true } satisfies CloseMessage);
  const timer = setTimeout(() => void worker.terminate(), graceMs);
  timer.unref();
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/**
 * Worker side: `handle` each message (its promise settles once the reply is posted) until a
 * CloseMessage; then, once nothing is in hand, `release` the session and close the port, so the
 * thread's event loop empties and it ends.
 */
export function serveUntilClosed<M extends object>(port: MessagePort, handle: (m: M) => Promise<unknown>, release: () => Promise<unknown>): void {
  let inHand = 0;
  let closing = false;
  const closeWhenIdle = (): void => {
    if (closing && inHand === 0) void release().finally(() => port.close());
  };
  port.on('message', (m: M | CloseMessage) => {
    if ('close' in m) {
      closing = true;
      closeWhenIdle();
      return;
    }
    inHand++;
    void handle(m).finally(() => {
      inHand--;
      closeWhenIdle();
    });
  });
}
