/**
 * The reader's remote sources against real services: a Postgres query (ETAOPS_TEST_PG_URL)
 * and s3:// objects on the S3-compatible server (ETAOPS_TEST_S3_ENDPOINT). Each part skips with
 * a message when its service is not configured; `make test` starts both.
 *
 * Isolation: Postgres schema `etaops_dataset_<pid>`, S3 keys under `dataset-sources/<pid>-<time>/`;
 * both removed at the end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  COLUMN_NAMES, DataError, makeS3Client, readDataset, readDatasetBatches, readDatasetFromQuery, type ReadResult,
} from '../../src/ml/dataset/index.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const SAMPLE = join(repoRoot, '../shared/data/doordash_sample.csv');
const PG_URL = process.env.ETAOPS_TEST_PG_URL;
const S3_ENDPOINT = process.env.ETAOPS_TEST_S3_ENDPOINT;
const BUCKET = process.env.ETAOPS_TEST_S3_BUCKET || 'etaops-test';
const noSample = existsSync(SAMPLE) ? false : `the real sample is absent at ${SAMPLE}`;

let fromFile: ReadResult;
before(async () => {
  if (!noSample) fromFile = await readDataset(SAMPLE);
});

function assertSameValues(a: ReadResult, b: ReadResult): void {
  assert.equal(a.dataset.rowCount, b.dataset.rowCount);
  assert.deepEqual(a.dataset.numeric, b.dataset.numeric);
  for (const c of Object.keys(a.dataset.category) as (keyof ReadResult['dataset']['category'])[]) {
    const decode = (r: ReadResult) => Array.from(r.dataset.category[c].codes, (k) => (k < 0 ? null : r.dataset.category[c].values[k]));
    assert.deepEqual(decode(a), decode(b), c);
  }
  for (const kind of Object.keys(a.report.defects) as (keyof ReadResult['report']['defects'])[]) {
    assert.equal(a.report.defects[kind].count, b.report.defects[kind].count, kind);
  }
  assert.deepEqual(a.report.missing, b.report.missing);
}

describe('Postgres query source', { skip: !PG_URL ? 'ETAOPS_TEST_PG_URL is not set (run under hack/with-test-env.sh or make test)' : noSample }, () => {
  const schema = `etaops_dataset_${process.pid}`;
  const client = new pg.Client({ connectionString: PG_URL });

  before(async () => {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.query(`CREATE SCHEMA ${schema}`);
    // Real column types: ids as integers, created_at timestamptz, the target a plain timestamp.
    await client.query(`CREATE TABLE ${schema}.orders (
      line integer PRIMARY KEY, market_id integer, created_at timestamptz, actual_delivery_time timestamp,
      store_id integer, store_primary_category text, order_protocol integer, total_items integer,
      subtotal integer, num_distinct_items integer, min_item_price integer, max_item_price integer,
      total_onshift_dashers integer, total_busy_dashers integer, total_outstanding_orders integer,
      estimated_order_place_duration integer, estimated_store_to_consumer_driving_duration integer)`);
    const lines = readFileSync(SAMPLE, 'utf8').trimEnd().split('\n').slice(1);
    const perInsert = 2000;
    for (let i = 0; i < lines.length; i += perInsert) {
      const params: (string | number | null)[] = [];
      const tuples: string[] = [];
      lines.slice(i, i + perInsert).forEach((l, j) => {
        const fields = l.split(',').map((f) => (f === '' ? null : f));
        fields[1] = `${fields[1]}+00`; // created_at is UTC
        const base = params.length;
        params.push(i + j + 2, ...fields);
        tuples.push(`(${Array.from({ length: fields.length + 1 }, (_, k) => `$${base + k + 1}`).join(',')})`);
      });
      await client.query(`INSERT INTO ${schema}.orders (line, ${COLUMN_NAMES.join(',')}) VALUES ${tuples.join(',')}`, params);
    }
  });

  after(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await client.end();
  });

  test('a query reads the same rows and defects as the file, through a cursor', async () => {
    // The session's time zone must not shift timestamptz values: the reader renders UTC.
    await client.query("SET TimeZone = 'America/Los_Angeles'");
    const r = await readDatasetFromQuery(client, `SELECT ${COLUMN_NAMES.join(', ')} FROM ${schema}.orders ORDER BY line;`, { fetchRows: 5000 });
    assertSameValues(r, fromFile);
    assert.equal(r.report.lineLabel, 'row');
    assert.equal(r.dataset.sourceLine[0], 1);
    assert.deepEqual(r.report.defects.missing_target.lines, [110, 7671]); // file lines 111, 7672
    assert.deepEqual(r.report.defects.duration_too_long.lines, [2691]);
    const tx = await client.query<{ s: string }>('SELECT pg_current_xact_id_if_assigned() IS NULL AS s');
    assert.ok(tx.rows[0].s, 'the reader closed its transaction');
  });

  test('a URL source connects itself; bad queries and bad credentials are DataErrors without secrets', async () => {
    const r = await readDatasetFromQuery(PG_URL!, `SELECT * FROM ${schema}.orders WHERE line < 1002 ORDER BY line`);
    assert.equal(r.dataset.rowCount, 1000);
    assert.deepEqual(r.report.unknownColumns, ['line']);
    await assert.rejects(readDatasetFromQuery(PG_URL!, `SELECT market_id FROM ${schema}.orders`), (e: unknown) =>
      e instanceof DataError && /result columns: missing columns 'created_at'/.test(e.message));
    await assert.rejects(readDatasetFromQuery(PG_URL!, 'SELEC nonsense'), (e: unknown) =>
      e instanceof DataError && /the query failed: syntax error/.test(e.message));
    const wrong = new URL(PG_URL!);
    wrong.username = 'nobody_here';
    wrong.password = 'hunter2-secret';
    await assert.rejects(readDatasetFromQuery(wrong.href, 'SELECT 1'), (e: unknown) =>
      e instanceof DataError && /cannot connect/.test(e.message) && !e.message.includes('hunter2-secret'));
  });
});

describe('S3 source', { skip: !S3_ENDPOINT ? 'ETAOPS_TEST_S3_ENDPOINT is not set (run under hack/with-test-env.sh or make test)' : noSample }, () => {
  const prefix = `dataset-sources/${process.pid}-${Date.now()}`;
  const keys = [`${prefix}/sample.csv`, `${prefix}/sample.csv.gz`, `${prefix}/sample-gz-no-suffix`];
  let s3: Awaited<ReturnType<typeof makeS3Client>>;

  before(async () => {
    process.env.ETAOPS_S3_ENDPOINT = S3_ENDPOINT;
    s3 = await makeS3Client(S3_ENDPOINT);
    const plain = readFileSync(SAMPLE);
    const gz = gzipSync(plain);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: keys[0], Body: plain }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: keys[1], Body: gz }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: keys[2], Body: gz }));
  });

  after(async () => {
    await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys.map((Key) => ({ Key })) } })).catch(() => undefined);
    s3.destroy();
  });

  test('s3:// objects (plain, .gz, gzip without suffix) read the same as the file', async () => {
    for (const key of keys) assertSameValues(await readDataset(`s3://${BUCKET}/${key}`), fromFile);
  });

  test('batches stream from S3', async () => {
    let rows = 0;
    const batches = readDatasetBatches(`s3://${BUCKET}/${keys[1]}`, { batchRows: 10_000 });
    for await (const b of batches) rows += b.rowCount;
    assert.equal(rows, fromFile.dataset.rowCount);
    assert.equal(batches.report.defects.duration_too_long.count, 1);
  });

  test('a missing key or bucket is a DataError naming the object', async () => {
    await assert.rejects(readDataset(`s3://${BUCKET}/${prefix}/absent.csv`), (e: unknown) =>
      e instanceof DataError && e.message.includes(`s3://${BUCKET}/${prefix}/absent.csv: cannot read: no such object`));
    await assert.rejects(readDataset('s3://etaops-no-such-bucket-here/x.csv'), (e: unknown) =>
      e instanceof DataError && /cannot read: no such bucket/.test(e.message));
  });
});
