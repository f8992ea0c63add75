/**
 * Asynchronous, batched prediction logging. The request path calls `enqueue()`, which only
 * pushes onto an in-memory buffer: it never awaits the database and never throws. A pump
 * writes batches with one multi-row INSERT each; while the database is unreachable it retries
 * with backoff and keeps accepting entries up to `maxBuffered`, beyond which the oldest are
 * dropped and counted. Logging degrades; predictions never wait for it.
 */
import type { Database } from './database.js';
import type { PredictionLogEntry } from './index.js';

export interface PredictionLogWriterOptions {
  /** Rows per INSERT (default 500). */
  batchSize?: number;
  /** Longest an entry waits before a batch is written (default 200 ms). */
  flushIntervalMs?: number;
  /** Entries held in memory at most; beyond that the oldest are dropped (default 50,000, roughly 30 MB of order JSON). */
  maxBuffered?: number;
  /** First retry delay after a failed write; doubles up to retryMaxMs (defaults 100 / 5000 ms). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Told about each failed write (e.g. to log once per outage). Must not throw. */
  onError?: (err: unknown) => void;
}

export interface PredictionLogStats {
  /** Rows stored in the database. */
  written: number;
  /** Rows given up: buffer overflow, unstorable rows, or left over at close(). */
  dropped: number;
  /** INSERTs that failed (each is retried or, for bad rows, split up). */
  failedBatches: number;
  /** Rows accepted but not yet stored. */
  pending: number;
}

/** An entry ready for the database: features already serialised, so a bad one fails at enqueue. */
interface Row {
  requestId: string;
  model: string;
  version: number;
  ts: Date;
  features: string;
  prediction: number;
}

/** Bounds one statement's size (and what a failed batch re-sends). */
const MAX_BATCH = 5000;

/**
 * Errors about the data itself (SQLSTATE classes 22 data exception, 23 integrity, 42 syntax or
 * missing table) will fail again on retry; anything else (connection refused or reset, server
 * shutting down, timeouts) is worth retrying.
 */
function isPermanent(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|42)[0-9A-Z]{3}$/.test(code);
}

/**
 * `background` timers (retry backoff) do not keep the process alive on their own; a caller
 * awaiting flush()/close() does.
 */
function sleep(ms: number, background = false): Promise<void> {
  return new Promise((res) => {
    const t = setTimeout(res, ms);
    if (background) t.unref();
  });
}

export class PredictionLogWriter {
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly onError: (err: unknown) => void;

  /** FIFO as array + head index: dropping the oldest is O(1). */
  private buffer: Row[] = [];
  private head = 0;
  private inflight = 0;
  private pumping = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private counters = { written: 0, dropped: 0, failedBatches: 0 };

  constructor(private readonly db: Database, opts: PredictionLogWriterOptions = {}) {
    this.batchSize = Math.max(1, Math.min(opts.batchSize ?? 500, MAX_BATCH));
    this.flushIntervalMs = Math.max(0, opts.flushIntervalMs ?? 200);
    this.maxBuffered = Math.max(1, opts.maxBuffered ?? 50_000);
    this.retryBaseMs = Math.max(1, opts.retryBaseMs ?? 100);
    this.retryMaxMs = Math.max(this.retryBaseMs, opts.retryMaxMs ?? 5000);
    this.onError = opts.onError ?? (() => {});
  }

  /** Accepts one entry for logging. Synchronous; never throws; invalid entries are counted as dropped. */
  enqueue(entry: PredictionLogEntry): void {
    try {
      if (this.closed) {
        this.counters.dropped++;
        return;
      }
      const row = toRow(entry);
      if (!row) {
        this.counters.dropped++;
        return;
      }
      this.buffer.push(row);
      if (this.buffered() > this.maxBuffered) this.dropOldest(this.buffered() - this.maxBuffered);
      if (this.buffered() >= this.batchSize) this.kick();
      else this.schedule();
    } catch {
      this.counters.dropped++;
    }
  }

  stats(): PredictionLogStats {
    return { ...this.counters, pending: this.buffered() + this.inflight };
  }

  /**
   * Writes everything accepted so far. Resolves true when all of it is stored, false when
   * `timeoutMs` passed first (the rows stay buffered and keep being retried).
   */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    this.kick();
    while (this.buffered() + this.inflight > 0) {
      if (Date.now() >= deadline) return false;
      await sleep(10);
      this.kick();
    }
    return true;
  }

  /**
   * Stops accepting entries, writes what is buffered (up to `timeoutMs`) and counts what could
   * not be written as dropped. Does not close the database, which the caller owns.
   */
  async close(timeoutMs = 10_000): Promise<PredictionLogStats> {
    this.closed = true;
    const done = await this.flush(timeoutMs);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!done) this.dropOldest(this.buffered());
    return this.stats();
  }

  private buffered(): number {
    return this.buffer.length - this.head;
  }

  private dropOldest(n: number): void {
    this.head += n;
    this.counters.dropped += n;
    this.compact();
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
  }

  private take(n: number): Row[] {
    const batch = this.buffer.slice(this.head, this.head + n);
    this.head += batch.length;
    this.compact();
    return batch;
  }

  /** Puts an unwritten batch back at the front, dropping the oldest if the buffer is full. */
  private putBack(batch: Row[]): void {
    const room = this.maxBuffered - this.buffered();
    const keep = room >= batch.length ? batch : batch.slice(batch.length - Math.max(0, room));
    this.counters.dropped += batch.length - keep.length;
    this.buffer = keep.concat(this.buffer.slice(this.head));
    this.head = 0;
  }

  private schedule(): void {
    if (this.timer || this.pumping) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, this.flushIntervalMs);
    this.timer.unref();
  }

  private kick(): void {
    if (this.pumping) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pumping = true;
    this.pump().catch((err: unknown) => this.report(err)).finally(() => {
      this.pumping = false;
      if (this.buffered() > 0 && !this.closed) this.schedule();
    });
  }

  /** Writes batches until the buffer is empty, backing off while the database fails. */
  private async pump(): Promise<void> {
    let failures = 0;
    while (this.buffered() > 0) {
      const batch = this.take(this.batchSize);
      this.inflight = batch.length;
      try {
        await this.insert(batch);
        this.counters.written += batch.length;
        failures = 0;
      } catch (err) {
        this.counters.failedBatches++;
        this.report(err);
        if (isPermanent(err)) {
          await this.insertOneByOne(batch);
        } else {
          this.putBack(batch);
          this.inflight = 0;
          failures++;
          await sleep(Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(failures - 1, 20)), true);
        }
      } finally {
        this.inflight = 0;
      }
    }
  }

  /** A batch with a bad row: store the good rows, drop (and count) the bad ones. */
  private async insertOneByOne(batch: Row[]): Promise<void> {
    for (let i = 0; i < batch.length; i++) {
      try {
        await this.insert([batch[i]]);
        this.counters.written++;
      } catch (err) {
        if (isPermanent(err)) {
          this.counters.dropped++;
        } else {
          // The database went away mid-way: keep the rest for the normal retry path.
          this.putBack(batch.slice(i));
          throw err;
        }
      }
    }
  }

  /**
   * One INSERT per batch. The rows travel as six array parameters expanded by unnest(): a
   * fixed, tiny statement for any batch size, which Postgres parses far faster than a VALUES
   * list with six placeholders per row.
   */
  private async insert(batch: Row[]): Promise<void> {
    const ids: string[] = [];
    const models: string[] = [];
    const versions: number[] = [];
    const times: string[] = [];
    const features: string[] = [];
    const predictions: (number | string)[] = [];
    for (const r of batch) {
      ids.push(r.requestId);
      models.push(r.model);
      versions.push(r.version);
      times.push(r.ts.toISOString());
      features.push(r.features);
      // Array literals carry non-finite floats by name.
      predictions.push(Number.isFinite(r.prediction) ? r.prediction : String(r.prediction));
    }
    await this.db.query(
      `INSERT INTO prediction_log (request_id, model, version, ts, features, prediction)
       SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::timestamptz[], $5::jsonb[], $6::double precision[])`,
      [ids, models, versions, times, features, predictions]);
  }

  private report(err: unknown): void {
    try {
      this.onError(err);
    } catch {
      // A broken callback must not stop logging.
    }
  }
}

function toRow(e: PredictionLogEntry): Row | undefined {
  if (!e || typeof e.requestId !== 'string' || e.requestId === '' || typeof e.model !== 'string' || e.model === '') return undefined;
  if (!Number.isInteger(e.version) || typeof e.prediction !== 'number') return undefined;
  const ts = e.ts instanceof Date && !Number.isNaN(e.ts.getTime()) ? e.ts : new Date();
  const features = typeof e.featuresJson === 'string' ? e.featuresJson : JSON.stringify(e.features ?? null);
  if (typeof features !== 'string') return undefined;
  // Postgres jsonb cannot hold NUL characters; escape-encoded or not, such a row would never store.
  if (features.includes('\\u0000')) return undefined;
  return { requestId: e.requestId, model: e.model, version: e.version, ts, features, prediction: e.prediction };
}
