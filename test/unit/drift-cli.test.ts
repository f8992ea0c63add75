/** `etaops drift` end to end through the built CLI, on CSV cuts of the real sample. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

const SAMPLE = '../shared/data/doordash_sample.csv';
const CLI = path.resolve('dist/src/cli/main.js');

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'drift', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('etaops drift (CLI)', { skip: existsSync(SAMPLE) ? false : `${SAMPLE} not found` }, () => {
  let dir: string;
  let early: string;
  let late: string;
  let west: string;
  let east: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'etaops-drift-cli-'));
    const [header, ...rows] = readFileSync(SAMPLE, 'utf8').trimEnd().split('\n');
    const write = (name: string, keep: string[]): string => {
      const file = path.join(dir, name);
      writeFileSync(file, [header, ...keep].join('\n') + '\n');
      return file;
    };
    // Alternate rows: two interleaved samples of the same data.
    early = write('a.csv', rows.filter((_, i) => i % 2 === 0).slice(0, 3000));
    late = write('b.csv', rows.filter((_, i) => i % 2 === 1).slice(0, 3000));
    west = write('west.csv', rows.filter((r) => /^[123],/.test(r)).slice(0, 3000));
    east = write('east.csv', rows.filter((r) => /^[456],/.test(r)).slice(0, 3000));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--json summary, --report files, exit 0 without drift', () => {
    const out = path.join(dir, 'report');
    const r = run(['--reference', early, '--current', late, '--json', '--report', out, '--fail-on-drift']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as {
      dataset_drift: boolean;
      drift_share: number;
      columns: Record<string, { test: string; score: number; threshold: number; drifted: boolean }>;
      report: { json: string; html: string };
    };
    assert.equal(s.dataset_drift, false);
    assert.equal(Object.keys(s.columns).length, 14);
    assert.deepEqual(Object.keys(s.columns.subtotal).sort(), ['drifted', 'score', 'test', 'threshold']);
    assert.equal(s.columns.subtotal.test, 'wasserstein');
    const full = JSON.parse(readFileSync(s.report.json, 'utf8')) as { schema_version: number; number_of_columns: number; columns: Record<string, { reference_missing_share: number; reference: { kind: string } }> };
    assert.equal(full.schema_version, 1);
    assert.equal(full.number_of_columns, 14);
    assert.equal(full.columns.subtotal.reference.kind, 'histogram');
    assert.ok(full.columns.total_onshift_dashers.reference_missing_share > 0);
    assert.match(readFileSync(s.report.html, 'utf8'), /No dataset drift/);
  });

  test('--fail-on-drift exits 3 on drift; without it the same check exits 0', () => {
    const failing = run(['--reference', west, '--current', east, '--fail-on-drift']);
    assert.equal(failing.code, 3, failing.stderr);
    assert.match(failing.stdout, /^DATASET DRIFT: \d+ of 14 columns drifted/);
    assert.equal(run(['--reference', west, '--current', east]).code, 0);
  });

  test('--save-profile, then --profile gives the same verdict; --test overrides a column', () => {
    const profile = path.join(dir, 'profile.json');
    const raw = run(['--reference', west, '--current', east, '--json', '--save-profile', profile]);
    const viaProfile = run(['--profile', profile, '--current', east, '--json', '--test', 'subtotal=psi:0.25']);
    assert.equal(viaProfile.code, 0, viaProfile.stderr);
    const a = JSON.parse(raw.stdout) as { dataset_drift: boolean; columns: Record<string, { drifted: boolean; test: string; threshold: number }> };
    const b = JSON.parse(viaProfile.stdout) as typeof a;
    assert.equal(b.dataset_drift, a.dataset_drift);
    assert.equal(b.columns.market_id.drifted, a.columns.market_id.drifted);
    assert.deepEqual([b.columns.subtotal.test, b.columns.subtotal.threshold], ['psi', 0.25]);
  });

  test('--model-dir: training profile from model.json, the model scores the current rows, accuracy by market', () => {
    const modelDir = path.join(dir, 'model');
    const train = spawnSync(process.execPath, [CLI, 'train', '--data', early, '--model-dir', modelDir, '--params', '{"numTrees":15}', '--quiet'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(train.status, 0, train.stderr);
    const out = path.join(dir, 'model-report');
    const r = run(['--model-dir', modelDir, '--current', late, '--json', '--report', out]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { columns: Record<string, { test: string }>; accuracy: { count: number; mae: number; rmse: number; bias: number } };
    assert.ok(s.columns.prediction, 'prediction drift is checked');
    assert.ok(s.columns.target, 'target drift is checked');
    assert.equal(s.columns.prediction.test, 'wasserstein');
    assert.ok(s.accuracy.count > 2500 && s.accuracy.mae > 0 && s.accuracy.rmse >= s.accuracy.mae);
    const full = JSON.parse(readFileSync(path.join(out, 'drift-report.json'), 'utf8')) as { reference: { source: string }; accuracy: { by_market: Record<string, { count: number }> } };
    assert.equal(full.reference.source, 'profile');
    assert.ok(Object.keys(full.accuracy.by_market).length >= 5, 'accuracy by market');
    assert.match(readFileSync(path.join(out, 'drift-report.html'), 'utf8'), /Prediction accuracy \(current window\)/);
  });

  test('usage mistakes exit 2 with a precise message; unreadable inputs exit 1', () => {
    const none = run(['--current', late]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give exactly one of --reference, --profile, --model-dir/);
    const badTest = run(['--reference', early, '--current', late, '--test', 'subtotal=magic']);
    assert.equal(badTest.code, 2);
    assert.match(badTest.stderr, /COLUMN=TEST\[:THRESHOLD\]/);
    const badWindow = run(['--reference', early, '--from-log', 'yesterday', '--model', 'eta']);
    assert.equal(badWindow.code, 2);
    assert.match(badWindow.stderr, /time window like 90s, 30m, 6h or 7d, got 'yesterday'/);
    const headerOnly = path.join(dir, 'empty.csv');
    writeFileSync(headerOnly, readFileSync(early, 'utf8').split('\n')[0] + '\n');
    const empty = run(['--reference', early, '--current', headerOnly]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /the current window has no rows/);
    const brokenProfile = path.join(dir, 'broken.json');
    writeFileSync(brokenProfile, JSON.stringify({ schema_version: 1, row_count: 5, columns: { x: { type: 'numeric', count: 'five' } } }));
    const broken = run(['--profile', brokenProfile, '--current', late]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /columns\.x\.count must be a whole number >= 0, got "five"/);
  });
});
