/**
 * `etaops drift --from-log` against a real Postgres that stops and comes back: while it is
 * down the check fails with a clear error (exit 1, the database named without its password,
 * no stack trace, no "report it as a bug"); once it is back the same check reads every logged
 * row again: nothing was lost.
 *
 * The shared test Postgres serves other test files at the same time, so this test never stops
 * it: it initdbs a throwaway cluster of its own (same binaries, found through
 * ETAOPS_TEST_PG_CTL, as the postgres user when run as root) on a free port in a temp folder.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ThrowawayPostgres } from '../support/throwaway-postgres.js';
import { migrate, openDatabase, PredictionLogWriter } from '../../src/registry/index.js';
import { SAMPLE_CSV, SAMPLE_MISSING } from '../unit/server-fixtures.js';

const PG_CTL = process.env.ETAOPS_TEST_PG_CTL;
const skip = !PG_CTL ? 'ETAOPS_TEST_PG_CTL is not set (make test starts Postgres; an external server cannot be used for outage tests)'
  : !existsSync(SAMPLE_CSV) ? SAMPLE_MISSING : false;
const CLI = path.resolve('dist/src/cli/main.js');
const PASSWORD = 'drift-outage-secret-pw';
const LOGGED = 1200;
const NUMERIC_FIELDS = new Set(['market_id', 'store_id', 'order_protocol', 'total_items', 'subtotal', 'num_distinct_items', 'min_item_price', 'max_item_price', 'total_onshift_dashers', 'total_busy_dashers', 'total_outstanding_orders', 'estimated_order_place_duration', 'estimated_store_to_consumer_driving_duration']);

describe('etaops drift --from-log while Postgres stops and restarts', { skip }, () => {
  let cluster: ThrowawayPostgres;
  let reference: string;
  let work: string;

  before(async () => {
    cluster = new ThrowawayPostgres(PG_CTL!, PASSWORD);
    await cluster.init();
    const admin = new pg.Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    await admin.query('CREATE DATABASE etaops_drift');
    await admin.end();
    work = mkdtempSync(path.join(tmpdir(), 'etaops-drift-pg-work-'));
    const [header, ...rows] = readFileSync(SAMPLE_CSV, 'utf8').trimEnd().split('\n');
    reference = path.join(work, 'reference.csv');
    writeFileSync(reference, [header, ...rows.slice(0, 3000)].join('\n') + '\n');
    // Logged through the registry's own writer, as the server logs them.
    const names = header.split(',');
    const db = await openDatabase(cluster.url('etaops_drift'));
    try {
      await migrate(db);
      const writer = new PredictionLogWriter(db, { flushIntervalMs: 10 });
      rows.slice(3000, 3000 + LOGGED).forEach((line, i) => {
        const cells = line.split(',');
        const order: Record<string, string | number> = {};
        names.forEach((n, k) => {
          if (n !== 'actual_delivery_time' && cells[k] !== '') order[n] = NUMERIC_FIELDS.has(n) ? Number(cells[k]) : cells[k];
        });
        writer.enqueue({ requestId: `r${i}`, model: 'eta', version: 1, features: order, prediction: 2000 + (i % 900) });
      });
      assert.equal(await writer.flush(), true);
      await writer.close();
    } finally {
      await db.close();
    }
  });
  after(() => {
    cluster?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const drift = (out: string) => spawnSync(process.execPath, [CLI, 'drift', '--reference', reference, '--from-log', '1h', '--model', 'eta', '--json', '--report', path.join(work, out)], {
    encoding: 'utf8', timeout: 90_000, env: { ...process.env, ETAOPS_DATABASE_URL: cluster.url('etaops_drift'), ETAOPS_DEBUG: '' },
  });
  const currentRows = (out: string) => (JSON.parse(readFileSync(path.join(work, out, 'drift-report.json'), 'utf8')) as { current: { rows: number } }).current.rows;

  test('down: a clear error naming the database without its password; back: every row is read again', () => {
    const first = drift('before');
    assert.equal(first.status, 0, first.stderr);
    const rowsBefore = currentRows('before');
    assert.ok(rowsBefore >= LOGGED - 10, `the logged window: ${rowsBefore} rows`);
    const verdict = JSON.parse(first.stdout) as { columns: Record<string, unknown> };

    cluster.stop();
    try {
      const down = drift('down');
      assert.equal(down.status, 1, `exit 1 when the database is down, got ${down.status}: ${down.stderr}`);
      assert.equal(down.stdout, '', 'no result printed');
      assert.match(down.stderr, /^error: etaops drift: cannot read the prediction log/m, down.stderr);
      assert.match(down.stderr, new RegExp(`127\\.0\\.0\\.1:${cluster.port}`), 'names the database');
      assert.ok(!down.stderr.includes(PASSWORD), 'never prints the password');
      assert.doesNotMatch(down.stderr, /report it as a bug|\n\s+at /, `an expected failure, not a crash: ${down.stderr}`);
      assert.equal(existsSync(path.join(work, 'down', 'drift-report.json')), false, 'no report from no data');
    } finally {
      cluster.start();
    }

    const again = drift('after');
    assert.equal(again.status, 0, again.stderr);
    assert.equal(currentRows('after'), rowsBefore, 'the same rows as before the outage: nothing lost');
    assert.deepEqual(Object.keys((JSON.parse(again.stdout) as { columns: Record<string, unknown> }).columns), Object.keys(verdict.columns));
  });
});
