/**
 * The prediction log writer against a real Postgres, including an outage: Postgres is stopped
 * with pg_ctl while entries keep coming, then started again (always, in a `finally`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { type Database, PredictionLogWriter, migrate, openDatabase } from '../../src/registry/index.js';

const run = promisify(execFile);
const url = process.env.ETAOPS_TEST_PG_URL;
const pgCtl = process.env.ETAOPS_TEST_PG_CTL ?? '';
const pgData = process.env.ETAOPS_TEST_PG_DATA ?? '';
const skip = url ? false : 'ETAOPS_TEST_PG_URL is not set: run under hack/with-test-env.sh (make test) to start Postgres';
const skipOutage = skip || (pgCtl && pgData ? false : 'ETAOPS_TEST_PG_CTL/ETAOPS_TEST_PG_DATA are not set (external Postgres): cannot stop and restart it');
const schema = `etaops_plog_${randomBytes(4).toString('hex')}`;

let db: Database;
let inserts = 0;

/** The real database, with INSERTs into prediction_log counted to show batching. */
function counting(inner: Database): Database {
  return {
    ...inner,
    query: (sql, params) => {
      if (sql.startsWith('INSERT INTO prediction_log')) inserts++;
      return inner.query(sql, params);
    },
  };
}

async function pgControl(action: 'stop' | 'start'): Promise<void> {
  const [cmd, ...prefix] = pgCtl.trim().split(/\s+/);
  const args = [...prefix, '-D', pgData, action, ...(action === 'stop' ? ['-m', 'fast'] : [])];
  await run(cmd, args, { timeout: 90_000 });
}

async function rowsFor(model: string): Promise<string[]> {
  const r = await db.query<{ request_id: string }>('SELECT request_id FROM prediction_log WHERE model = $1 ORDER BY id', [model]);
  return r.rows.map((row) => row.request_id);
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const entry = (model: string, id: string, prediction = 1800) => ({ requestId: id, model, version: 1, features: { total_items: 3, store_primary_category: 'pizza' }, prediction });

describe('prediction log writer on a real Postgres', { skip }, () => {
  before(async () => {
    db = await openDatabase(url as string, { schema, connectTimeoutMs: 2000 });
    await migrate(db);
  });

  after(async () => {
    if (!db) return;
    await db.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.close();
  });

  it('writes in multi-row batches, not a row at a time', async () => {
    inserts = 0;
    const writer = new PredictionLogWriter(counting(db), { batchSize: 500, flushIntervalMs: 200 });
    for (let i = 0; i < 1200; i++) assert.equal(writer.enqueue(entry('batching', `b-${i}`, i)), undefined);
    assert.equal(await writer.flush(20_000), true);
    const stats = await writer.close();
    assert.deepEqual(stats, { written: 1200, dropped: 0, failedBatches: 0, pending: 0 });
    assert.ok(inserts >= 3 && inserts <= 6, `1200 rows took ${inserts} INSERTs`);
    const rows = await db.query<{ n: number; s: number }>('SELECT count(*)::integer AS n, sum(prediction)::float8 AS s FROM prediction_log WHERE model = $1', ['batching']);
    assert.deepEqual(rows.rows[0], { n: 1200, s: (1199 * 1200) / 2 });
  });

  it('drops only unstorable rows of a batch, and never throws from enqueue', async () => {
    const writer = new PredictionLogWriter(db, { flushIntervalMs: 10 });
    for (let i = 0; i < 10; i++) writer.enqueue(entry('badrows', `g-${i}`));
    // A lone UTF-16 surrogate is valid in JS strings but not in Postgres jsonb.
    writer.enqueue({ ...entry('badrows', 'surrogate'), features: { note: 'x\ud800y' } });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    writer.enqueue({ ...entry('badrows', 'cyclic'), features: cyclic });
    writer.enqueue({ ...entry('badrows', 'bigint'), features: { n: 1n } });
    writer.enqueue({ ...entry('badrows', ''), requestId: '' });
    writer.enqueue(null as never);
    assert.equal(await writer.flush(20_000), true);
    const stats = await writer.close();
    assert.equal(stats.written, 10);
    assert.equal(stats.dropped, 5);
    assert.equal((await rowsFor('badrows')).length, 10);
    writer.enqueue(entry('badrows', 'after-close'));
    assert.equal(writer.stats().dropped, 6, 'entries after close are counted, not lost silently');
  });

  it('keeps accepting while Postgres is stopped, writes the buffered rows after restart and counts overflow', { skip: skipOutage }, async () => {
    const errors: unknown[] = [];
    const writer = new PredictionLogWriter(db, { batchSize: 100, flushIntervalMs: 20, maxBuffered: 300, retryBaseMs: 50, retryMaxMs: 400, onError: (e) => errors.push(e) });
    for (let i = 0; i < 50; i++) writer.enqueue(entry('outage', `pre-${i}`));
    assert.equal(await writer.flush(20_000), true);
    let stopped = false;
    try {
      await pgControl('stop');
      stopped = true;
      for (let i = 0; i < 200; i++) writer.enqueue(entry('outage', `down-${i}`));
      await until(() => writer.stats().failedBatches >= 2, 20_000);
      assert.equal(writer.stats().written, 50);
      assert.equal(writer.stats().pending, 200);
      // 150 more overflow the 300-row buffer by 50: the oldest 50 go.
      for (let i = 200; i < 350; i++) writer.enqueue(entry('outage', `down-${i}`));
      await until(() => writer.stats().dropped === 50 && writer.stats().pending === 300, 10_000);
      assert.equal(await writer.flush(300), false, 'flush reports that rows are still waiting');
      await pgControl('start');
      stopped = false;
    } finally {
      if (stopped) await pgControl('start');
    }
    assert.equal(await writer.flush(60_000), true);
    for (let i = 0; i < 10; i++) writer.enqueue(entry('outage', `post-${i}`));
    const stats = await writer.close(30_000);
    assert.deepEqual(stats, { written: 50 + 300 + 10, dropped: 50, failedBatches: stats.failedBatches, pending: 0 });
    assert.ok(stats.failedBatches >= 2);
    assert.ok(errors.length >= 2, 'failures were reported to onError');
    const ids = await rowsFor('outage');
    const expected = [
      ...Array.from({ length: 50 }, (_, i) => `pre-${i}`),
      ...Array.from({ length: 300 }, (_, i) => `down-${i + 50}`),
      ...Array.from({ length: 10 }, (_, i) => `post-${i}`),
    ];
    assert.deepEqual(ids, expected, 'every buffered row written once, in order; only the oldest overflow dropped');
  });
});
