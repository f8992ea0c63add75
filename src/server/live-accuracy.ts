/**
 * Live accuracy from ground truth posted back to /feedback.
 *
 * The server remembers its recent predictions (bounded, oldest forgotten first) so feedback
 * for a request it answered is scored at once, with or without a database. With a registry
 * attached the feedback is also stored there, where other replicas' predictions are joined.
 */

export interface RememberedPrediction {
  prediction: number;
  model: string;
  version: string;
  at: number;
  /** The order's created_at (epoch seconds), to turn an actual delivery time into seconds. */
  createdAt: number;
}

interface RememberedBatch {
  predictions: Float64Array;
  createdAt: Float64Array;
  model: string;
  version: string;
  at: number;
}

/**
 * Recent predictions by request id, about `capacity` rows at most, oldest forgotten first. A
 * batch whose rows have the generated ids `<batch>:<i>` is one entry, not one per row:
 * remembering a 1,000-row batch costs one Map insert.
 *
 * Single ids are evicted through a ring of their keys, not by taking a Map's first key: V8 keeps
 * deleted entries in a Map's table until it rehashes, so `keys().next()` walks over every entry
 * deleted so far, and a full store slowed each request by tens of microseconds (bench-serve's
 * second round ran at half the first's rate).
 */
export class RecentPredictions {
  private readonly single = new Map<string, RememberedPrediction>();
  private readonly ring: (string | undefined)[];
  private ringNext = 0;
  private readonly batches = new Map<string, RememberedBatch>();
  private batchRows = 0;

  constructor(private readonly capacity = 200_000) {
    this.ring = new Array<string | undefined>(capacity).fill(undefined);
  }

  remember(requestId: string, p: RememberedPrediction): void {
    // A repeated id keeps its place in the ring (and is forgotten when that place comes round).
    if (this.single.has(requestId)) {
      this.single.set(requestId, p);
      return;
    }
    const evicted = this.ring[this.ringNext];
    if (evicted !== undefined) this.single.delete(evicted);
    this.ring[this.ringNext] = requestId;
    this.ringNext = (this.ringNext + 1) % this.capacity;
    this.single.set(requestId, p);
  }

  /** Remembers rows `${batchId}:${i}` (the views are kept as given: pass copies or owned arrays). */
  rememberBatch(batchId: string, b: RememberedBatch): void {
    this.batches.set(batchId, b);
    this.batchRows += b.predictions.length;
    while (this.batchRows > this.capacity && this.batches.size > 1) {
      const oldest = this.batches.entries().next();
      if (oldest.done) break;
      this.batches.delete(oldest.value[0]);
      this.batchRows -= oldest.value[1].predictions.length;
    }
  }

  get(requestId: string): RememberedPrediction | undefined {
    const hit = this.single.get(requestId);
    if (hit) return hit;
    const colon = requestId.lastIndexOf(':');
    if (colon <= 0) return undefined;
    const b = this.batches.get(requestId.slice(0, colon));
    const i = Number(requestId.slice(colon + 1));
    if (!b || !Number.isInteger(i) || i < 0 || i >= b.predictions.length) return undefined;
    return { prediction: b.predictions[i], createdAt: b.createdAt[i], model: b.model, version: b.version, at: b.at };
  }

  get size(): number {
    return this.single.size + this.batchRows;
  }
}

interface ErrorSample {
  at: number;
  error: number;
}

/** Errors (prediction - actual) of the last `windowSeconds`, at most `maxSamples` of them. */
export class LiveAccuracyWindow {
  private samples: ErrorSample[] = [];

  constructor(readonly windowSeconds = 3600, private readonly maxSamples = 100_000, private readonly now = () => Date.now()) {}

  add(prediction: number, actual: number): void {
    this.samples.push({ at: this.now(), error: prediction - actual });
    // Trimmed in steps of a tenth, not one sample per add: each trim moves the whole array.
    if (this.samples.length > this.maxSamples + Math.ceil(this.maxSamples / 10)) this.samples.splice(0, this.samples.length - this.maxSamples);
  }

  current(): { mae: number; rmse: number; count: number } | null {
    const cutoff = this.now() - this.windowSeconds * 1000;
    let first = 0;
    while (first < this.samples.length && this.samples[first].at < cutoff) first++;
    if (first > 0) this.samples = this.samples.slice(first);
    if (this.samples.length === 0) return null;
    let abs = 0;
    let sq = 0;
    for (const s of this.samples) {
      abs += Math.abs(s.error);
      sq += s.error * s.error;
    }
    const n = this.samples.length;
    return { mae: abs / n, rmse: Math.sqrt(sq / n), count: n };
  }
}
