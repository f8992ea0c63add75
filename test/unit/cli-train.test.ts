/**
 * etaops train / predict / evaluate through the real CLI process, on the real sample and on
 * garbage files derived from it (written to a temp dir; the sample is never copied into the repo).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SAMPLE_CSV } from './features-fixtures.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const sample = fileURLToPath(SAMPLE_CSV);
const haveSample = existsSync(sample);
const skip = haveSample ? false : `real sample not found at ${sample}`;
const FAST = JSON.stringify({ numTrees: 30, learningRate: 0.2, earlyStoppingRounds: 0 });

let tmp = '';
let sampleLines: string[] = [];

before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'etaops-cli-train-'));
  if (haveSample) sampleLines = readFileSync(sample, 'utf8').trimEnd().split('\n');
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function etaops(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Header + the first `n` data lines of the sample, each passed through `edit`. */
async function sampleFile(name: string, n: number, edit: (fields: string[], i: number) => string[] = (f) => f): Promise<string> {
  const lines = [sampleLines[0], ...sampleLines.slice(1, n + 1).map((l, i) => edit(l.split(','), i).join(','))];
  const file = path.join(tmp, name);
  await writeFile(file, lines.join('\n') + '\n');
  return file;
}

test('train on the real sample, then predict and evaluate with the model', { skip }, async () => {
  const dir = path.join(tmp, 'model');
  const train = etaops('train', '--data', sample, '--model-dir', dir, '--params', FAST, '--json');
  assert.equal(train.status, 0, train.stderr);
  const summary = JSON.parse(train.stdout) as { bestIteration: number; metrics: { overall: { rmse: number; count: number } }; data: { defects: Record<string, number>; rowsForTraining: number } };
  assert.equal(summary.bestIteration, 30);
  assert.equal(summary.data.rowsForTraining, 23_997);
  assert.equal(summary.data.defects.duration_too_long, 1, 'the 98-day delivery is reported');
  assert.equal(summary.metrics.overall.count, 4799);
  assert.ok(summary.metrics.overall.rmse > 500 && summary.metrics.overall.rmse < 1100, `holdout RMSE ${summary.metrics.overall.rmse}`);
  assert.match(train.stderr, /tree \d+ +train loss/);
  const meta = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as { training_profile: unknown; featureSpec: { names: string[] } };
  assert.ok(meta.training_profile !== null);

  // Prediction input: the first 200 rows, without the target column, plus broken rows.
  const input = await sampleFile('predict-in.csv', 200, (f, i) => {
    const noTarget = [f[0], f[1], ...f.slice(3)];
    if (i === 3) noTarget[1] = ''; // no created_at
    if (i === 4) noTarget[1] = 'yesterday';
    if (i === 5) noTarget[6] = 'lots'; // text in subtotal: scored with the field missing
    if (i === 6) return noTarget.slice(0, 10); // truncated row
    return noTarget;
  });
  await writeFile(input, (await readFile(input, 'utf8')).replace(/^[^\n]*/, (h) => h.replace(',actual_delivery_time', '')));
  const out = path.join(tmp, 'predict-out.csv');
  const predict = etaops('predict', '--model-dir', dir, '--input', input, '--output', out, '--batch-rows', '64', '--json');
  assert.equal(predict.status, 0, predict.stderr);
  const rows = (await readFile(out, 'utf8')).trimEnd().split('\n');
  assert.equal(rows.length, 201, 'every input row is in the output');
  assert.match(rows[0], /,predicted_duration_seconds,prediction_error$/);
  const cells = (r: string): string[] => r.split(',');
  assert.match(rows[4], /,,created_at is empty/);
  assert.match(rows[5], /,,created_at 'yesterday' is not/);
  assert.match(rows[7], /,,expected 15 fields as in the header but found 10$/);
  const scored = rows.slice(1).filter((r) => /,\d+\.\d,$/.test(r));
  assert.equal(scored.length, 197);
  assert.ok(Number(cells(rows[6]).at(-2)) > 0, 'a row with text in a numeric field is still scored');
  assert.deepEqual(JSON.parse(predict.stdout).notScored, 3);

  const evaluate = etaops('evaluate', '--model-dir', dir, '--data', sample, '--json');
  assert.equal(evaluate.status, 0, evaluate.stderr);
  const ev = JSON.parse(evaluate.stdout) as { overall: { count: number; rmse: number }; byMarket: Record<string, unknown> };
  assert.equal(ev.overall.count, 23_997);
  assert.ok(Object.keys(ev.byMarket).includes('(missing)'));
  const table = etaops('evaluate', '--model-dir', dir, '--data', sample);
  assert.match(table.stdout, /^all +23997 /m);
});

test('garbage: text in numeric columns trains a model and reports the defects', { skip }, async () => {
  const file = await sampleFile('text.csv', 400, (f, i) => {
    if (i % 10 === 0) f[7] = 'n/a'; // subtotal
    if (i % 25 === 0) f[11] = 'many'; // total_onshift_dashers
    return f;
  });
  const dir = path.join(tmp, 'model-text');
  const r = etaops('train', '--data', file, '--model-dir', dir, '--params', FAST, '--json');
  assert.equal(r.status, 0, r.stderr);
  const meta = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as { data: { defects: Record<string, number> } };
  assert.equal(meta.data.defects.unparsable_number, 40 + 16);
  assert.match(r.stderr, /unparsable_number=56/);
});

test('garbage: an all-missing column trains a model and the column shows as missing', { skip }, async () => {
  const file = await sampleFile('allmissing.csv', 300, (f) => {
    f[14] = ''; // estimated_order_place_duration
    return f;
  });
  const dir = path.join(tmp, 'model-allmissing');
  const r = etaops('train', '--data', file, '--model-dir', dir, '--params', FAST);
  assert.equal(r.status, 0, r.stderr);
  const meta = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as { featureImportance: Record<string, number> };
  assert.equal(meta.featureImportance.estimated_order_place_duration, 0, 'a column with no values is never split on');
});

test('garbage: an empty file and a one-row file end with a clear error, exit 1', { skip }, async () => {
  const empty = path.join(tmp, 'empty.csv');
  await writeFile(empty, '');
  const e = etaops('train', '--data', empty, '--model-dir', path.join(tmp, 'm-empty'));
  assert.equal(e.status, 1);
  assert.match(e.stderr, /^error: .*empty\.csv: the source is empty: no header line/m);
  assert.doesNotMatch(e.stderr, /at .*\.js:\d+/, 'no stack trace');

  const one = await sampleFile('one.csv', 1);
  const o = etaops('train', '--data', one, '--model-dir', path.join(tmp, 'm-one'));
  assert.equal(o.status, 1);
  assert.match(o.stderr, /1 row with a usable delivery time; training needs at least 20/);
  assert.equal(existsSync(path.join(tmp, 'm-one', 'model.json')), false);
});

test('bad flags and parameters are usage errors (exit 2) naming the culprit', { skip }, async () => {
  const p = etaops('train', '--data', sample, '--model-dir', path.join(tmp, 'x'), '--params', '{"learningRate": 3}');
  assert.equal(p.status, 2);
  assert.match(p.stderr, /learningRate=3: must be/);
  const j = etaops('train', '--data', sample, '--model-dir', path.join(tmp, 'x'), '--params', '{oops');
  assert.equal(j.status, 2);
  assert.match(j.stderr, /--params is not valid JSON/);
  const config = path.join(tmp, 'config.yaml');
  await writeFile(config, 'params:\n  numTrees: 5\nholdoutFraktion: 0.1\n');
  const c = etaops('train', '--data', sample, '--model-dir', path.join(tmp, 'x'), '--config', config);
  assert.equal(c.status, 2);
  assert.match(c.stderr, /unknown key holdoutFraktion/);
  const m = etaops('predict', '--model-dir', path.join(tmp, 'nowhere'), '--input', sample, '--output', path.join(tmp, 'o.csv'));
  assert.equal(m.status, 1);
  assert.match(m.stderr, /model\.onnx and model\.json not found/);
});
