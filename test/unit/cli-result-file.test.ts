/**
 * The operator's result contract on the CLI side: with ETAOPS_RESULT_FILE set, `etaops train`
 * and `etaops drift` write a compact JSON result there that the controller's parsers accept
 * (TrainingRun → ModelVersion, DriftCheck status), within the 4096 bytes Kubernetes keeps of a
 * termination message; model and report folders may be given as file:// URIs (s3:// is
 * exercised by test/e2e/operator-loop.test.ts against the real S3 server).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SAMPLE_CSV } from './features-fixtures.js';
import { parseTrainResult } from '../../src/controller/trainingrun.js';
import { parseDriftResult } from '../../src/controller/driftcheck.js';
import { RESULT_MAX_BYTES, writeResultFile } from '../../src/cli/result-file.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const sample = fileURLToPath(SAMPLE_CSV);
const skip = existsSync(sample) ? false : `real sample not found at ${sample}`;
const FAST = JSON.stringify({ numTrees: 30, learningRate: 0.2, earlyStoppingRounds: 0 });

let tmp = '';
before(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'etaops-result-file-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function etaops(resultFile: string, ...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ETAOPS_RESULT_FILE: resultFile } });
  return { status: r.status, stderr: r.stderr };
}

test('train into a file:// model dir, then drift against it: both results parse as the controller reads them', { skip }, async () => {
  const modelUri = pathToFileURL(path.join(tmp, 'models', 'm1')).href;
  const trainResult = path.join(tmp, 'train-result.json');
  const t = etaops(trainResult, 'train', '--data', sample, '--model-dir', modelUri, '--params', FAST, '--quiet');
  assert.equal(t.status, 0, t.stderr);
  const text = await readFile(trainResult, 'utf8');
  assert.ok(Buffer.byteLength(text) <= RESULT_MAX_BYTES);
  const parsed = parseTrainResult(text);
  assert.ok(!('error' in parsed), JSON.stringify(parsed));
  assert.equal(parsed.artifactUri, modelUri);
  // The sha256 is model.onnx's, written where the URI points (not in a folder named 'file:').
  const { createHash } = await import('node:crypto');
  const onnx = await readFile(path.join(fileURLToPath(modelUri), 'model.onnx'));
  assert.equal(parsed.sha256, createHash('sha256').update(onnx).digest('hex'));
  assert.ok(parsed.metrics.mae > 0 && parsed.metrics.rmse >= parsed.metrics.mae, JSON.stringify(parsed.metrics));
  assert.match(parsed.holdout?.fingerprint ?? '', /^[0-9a-f]{32}$/);
  assert.equal(existsSync(path.join(process.cwd(), 'file:')), false);

  const driftResult = path.join(tmp, 'drift-result.json');
  const reportUri = pathToFileURL(path.join(tmp, 'reports', 'r1')).href;
  const d = etaops(driftResult, 'drift', '--model-dir', modelUri, '--current', sample, '--report', reportUri);
  assert.equal(d.status, 0, d.stderr);
  const drift = parseDriftResult(await readFile(driftResult, 'utf8'));
  assert.ok(!('error' in drift), JSON.stringify(drift));
  // The training data against its own profile: no drift, and a report where --report said.
  assert.equal(drift.datasetDrift, false);
  assert.ok(drift.numberOfColumns >= 13);
  assert.equal(drift.reportUri, path.join(fileURLToPath(reportUri), 'drift-report.html'));
  assert.ok(existsSync(drift.reportUri!));
});

test('a result larger than a termination message keeps is an error, not a cut one', async () => {
  const file = path.join(tmp, 'big.json');
  await assert.rejects(writeResultFile({ blob: 'x'.repeat(RESULT_MAX_BYTES) }, { ETAOPS_RESULT_FILE: file }), /more than the 4096/);
  assert.equal(existsSync(file), false);
  assert.equal(await writeResultFile({ a: 1 }, {}), false);
});
