/**
 * `etaops train --query` while its Postgres stops and comes back.
 *
 * The real sample is loaded into a throwaway Postgres cluster (the shared one is never stopped).
 * A training over a query reads the same data as over the CSV file (same fingerprint). When the
 * server stops in the middle of the read, the training ends with a clear error (exit 1, the row
 * it got to, the server without its password, no stack trace) and leaves no model directory;
 * once the server is back the same command trains the very same model: nothing was lost.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { COLUMN_NAMES } from '../../src/ml/dataset/index.js';
import { SAMPLE_CSV, SAMPLE_MISSING } from '../unit/server-fixtures.js';
import { ThrowawayPostgres } from '../support/throwaway-postgres.js';

const PG_CTL = process.env.ETAOPS_TEST_PG_CTL;
const skip = !PG_CTL ? 'ETAOPS_TEST_PG_CTL is not set (make test starts Postgres; an external server cannot be used for outage tests)'
  : !existsSync(SAMPLE_CSV) ? SAMPLE_MISSING : false;
const CLI = path.resolve('dist/src/cli/main.js');
const PASSWORD = 'train-outage-secret-pw';
const QUERY = `SELECT ${COLUMN_NAMES.join(', ')} FROM orders ORDER BY line`;
// Each row waits 1 ms on the server (a per-row expression, evaluated as the cursor fetches), so
// a batch of 10,000 rows takes about 10 s: long enough to stop the server in the middle of the
// read. The extra column is ignored by the reader.
const SLOW_QUERY = `SELECT ${COLUMN_NAMES.join(', ')}, pg_sleep(0.001)::text AS pause FROM orders ORDER BY line`;

interface Summary { data: { fingerprint: string; rows: number }; onnxSha256: string }

describe('etaops train --query while Postgres stops and restarts', { skip, timeout: 300_000 }, () => {
  let cluster: ThrowawayPostgres;
  let work: string;

  before(async () => {
    cluster = new ThrowawayPostgres(PG_CTL!, PASSWORD);
    await cluster.init();
    work = mkdtempSync(path.join(tmpdir(), 'etaops-train-pg-'));
    const admin = new pg.Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    await admin.query('CREATE DATABASE etaops_train');
    await admin.end();
    const db = new pg.Client({ connectionString: cluster.url('etaops_train') });
    await db.connect();
    try {
      // Typed columns, as a warehouse table would have them; created_at is UTC.
      await db.query(`CREATE TABLE orders (line integer PRIMARY KEY, market_id integer, created_at timestamptz, actual_delivery_time timestamp,
        store_id integer, store_primary_category text, order_protocol integer, total_items integer, subtotal integer, num_distinct_items integer,
        min_item_price integer, max_item_price integer, total_onshift_dashers integer, total_busy_dashers integer, total_outstanding_orders integer,
        estimated_order_place_duration integer, estimated_store_to_consumer_driving_duration integer)`);
      const lines = readFileSync(SAMPLE_CSV, 'utf8').trimEnd().split('\n').slice(1);
      for (let i = 0; i < lines.length; i += 2000) {
        const params: Array<string | number | null> = [];
        const tuples: string[] = [];
        lines.slice(i, i + 2000).forEach((l, j) => {
          const fields = l.split(',').map((f) => (f === '' ? null : f));
          fields[1] = `${fields[1]}+00`;
          const base = params.length;
          params.push(i + j + 2, ...fields);
          tuples.push(`(${Array.from({ length: fields.length + 1 }, (_, k) => `$${base + k + 1}`).join(",")})`);
        });
        await db.query(`INSERT INTO orders (line, ${COLUMN_NAMES.join(',')}) VALUES ${tuples.join(',')}`, params);
      }
    } finally {
      await db.end();
    }
  });

  after(() => {
    cluster?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const env = () => ({ ...process.env, DATABASE_URL: cluster.url('etaops_train'), ETAOPS_DATA_PG_URL: '', ETAOPS_DEBUG: '' });
  const train = (args: string[], out: string) => spawnSync(process.execPath, [CLI, 'train', ...args, '--model-dir', path.join(work, out), '--json', '--quiet', '--params', '{"numTrees":60}'], { encoding: 'utf8', timeout: 180_000, env: env() });

  test('a query trains on the same data as the CSV; a server stopped mid-read is a clear error with no model; back, the same model is trained', async () => {
    const fromCsv = train(['--data', SAMPLE_CSV], 'csv');
    assert.equal(fromCsv.status, 0, fromCsv.stderr);
    const csv = JSON.parse(fromCsv.stdout) as Summary;
    const fromQuery = train(['--query', QUERY], 'query');
    assert.equal(fromQuery.status, 0, fromQuery.stderr);
    const query = JSON.parse(fromQuery.stdout) as Summary;
    assert.equal(query.data.fingerprint, csv.data.fingerprint, 'the same validated data, whatever the source');
    assert.equal(query.onnxSha256, csv.onnxSha256, 'and so the same model');

    // Stop the server while the trainer reads through its cursor.
    const child = spawn(process.execPath, [CLI, 'train', '--query', SLOW_QUERY, '--model-dir', path.join(work, 'cut'), '--json', '--quiet'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await new Promise((r) => setTimeout(r, 3000));
    cluster.stop();
    let code: number | null;
    try {
      code = await exited;
    } finally {
      cluster.start();
    }
    assert.equal(code, 1, `exit 1 when the data source goes away: ${stderr}`);
    assert.equal(stdout, '', 'no result printed');
    assert.match(stderr, /^error: .*query on postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/etaops_train: reading failed after row \d+/m, stderr);
    assert.ok(!stderr.includes(PASSWORD), 'never prints the password');
    assert.doesNotMatch(stderr, /report it as a bug|\n\s+at /, `an expected failure, not a crash: ${stderr}`);
    assert.equal(existsSync(path.join(work, 'cut', 'model.onnx')), false, 'no model from part of the data');
    assert.equal(existsSync(path.join(work, 'cut', 'model.json')), false, 'no model.json either');

    const again = train(['--query', QUERY], 'again');
    assert.equal(again.status, 0, again.stderr);
    const after = JSON.parse(again.stdout) as Summary;
    assert.equal(after.data.fingerprint, query.data.fingerprint, 'every row read again');
    assert.equal(after.onnxSha256, query.onnxSha256, 'the same model as before the outage');
  });
});
