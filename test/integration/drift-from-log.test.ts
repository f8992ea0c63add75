/**
 * `etaops drift --from-log`: the current window is read from the prediction log of a real
 * embedded registry (PGlite in a folder), logged through the registry's own writer.
 * An integration test because creating a PGlite registry takes 10–30 s.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { migrate, openDatabase, PredictionLogWriter } from '../../src/registry/index.js';

const SAMPLE = '../shared/data/doordash_sample.csv';
const CLI = path.resolve('dist/src/cli/main.js');
const NUMERIC_FIELDS = new Set(['market_id', 'store_id', 'order_protocol', 'total_items', 'subtotal', 'num_distinct_items', 'min_item_price', 'max_item_price', 'total_onshift_dashers', 'total_busy_dashers', 'total_outstanding_orders', 'estimated_order_place_duration', 'estimated_store_to_consumer_driving_duration']);

describe('etaops drift --from-log', { skip: existsSync(SAMPLE) ? false : `${SAMPLE} not found` }, () => {
  let dir: string;
  let reference: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'etaops-drift-log-'));
    const [header, ...rows] = readFileSync(SAMPLE, 'utf8').trimEnd().split('\n');
    reference = path.join(dir, 'reference.csv');
    writeFileSync(reference, [header, ...rows.slice(0, 4000)].join('\n') + '\n');
    const names = header.split(',');
    const db = await openDatabase(path.join(dir, 'registry'));
    try {
      await migrate(db);
      const writer = new PredictionLogWriter(db, { flushIntervalMs: 10 });
      // Log 1,500 later orders as the server would: raw order fields, no delivery time.
      rows.slice(4000, 5500).forEach((line, i) => {
        const cells = line.split(',');
        const order: Record<string, string | number> = {};
        names.forEach((n, k) => {
          if (n === 'actual_delivery_time' || cells[k] === '') return;
          order[n] = NUMERIC_FIELDS.has(n) ? Number(cells[k]) : cells[k];
        });
        writer.enqueue({ requestId: `r${i}`, model: 'eta', version: 1, features: order, prediction: 2400 + (i % 600) });
      });
      // One row whose features are not an order at all: skipped and counted, not fatal.
      writer.enqueue({ requestId: 'broken', model: 'eta', version: 1, features: { hello: 'world' }, prediction: 1 });
      assert.equal(await writer.flush(), true);
      await writer.close();
    } finally {
      await db.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('checks the logged window against the reference; target is skipped (no actuals logged)', () => {
    const r = spawnSync(process.execPath, [CLI, 'drift', '--reference', reference, '--from-log', '1h', '--model', 'eta', '--registry-dir', path.join(dir, 'registry'), '--json', '--report', path.join(dir, 'out')], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { dataset_drift: boolean; columns: Record<string, { test: string }>; report: { json: string } };
    assert.equal(Object.keys(s.columns).length, 13, Object.keys(s.columns).join(', '));
    const full = JSON.parse(readFileSync(s.report.json, 'utf8')) as { model: string; current: { rows: number }; skipped_columns: Record<string, string> };
    assert.equal(full.model, 'eta');
    const skipped = Number(/(\d+) logged rows with unreadable features skipped/.exec(r.stderr)?.[1]);
    assert.ok(skipped >= 1 && skipped <= 5, r.stderr);
    assert.equal(full.current.rows + skipped, 1501);
    assert.equal(full.skipped_columns.target, 'not in the current window');
    assert.equal(full.skipped_columns.prediction, 'not in the reference');
  });

  test('an empty window or an unknown model is a clear error, not a crash', () => {
    const r = spawnSync(process.execPath, [CLI, 'drift', '--reference', reference, '--from-log', '1h', '--model', 'nobody', '--registry-dir', path.join(dir, 'registry')], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no predictions logged for model 'nobody' in the last 3600 s/);
    const noModel = spawnSync(process.execPath, [CLI, 'drift', '--reference', reference, '--from-log', '1h', '--registry-dir', path.join(dir, 'registry')], { encoding: 'utf8' });
    assert.equal(noModel.status, 2);
    assert.match(noModel.stderr, /--from-log needs --model NAME/);
  });
});
