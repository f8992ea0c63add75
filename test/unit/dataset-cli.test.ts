/** `etaops validate` end to end through the real CLI entry point (a child process). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const SAMPLE = join(repoRoot, '../shared/data/doordash_sample.csv');
const noSample = existsSync(SAMPLE) ? false : `the real sample is absent at ${SAMPLE}`;
const tmp = mkdtempSync(join(tmpdir(), 'etaops-validate-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function etaops(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ETAOPS_DEBUG: '' } });
}

test('validate --json prints the report of the real sample', { skip: noSample }, () => {
  const r = etaops('validate', '--data', SAMPLE, '--json');
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.rowsKept, 24000);
  assert.equal(report.defects.duration_too_long.count, 1);
  assert.deepEqual(report.defects.missing_target.lines, [111, 7672]);
  assert.equal(report.defects.negative_value.count, 8);
});

test('validate prints a table; --max-duration changes the rule', { skip: noSample }, () => {
  const r = etaops('validate', '--data', SAMPLE, '--max-duration', '18000');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^duration_too_long\s+4\s/m);
  assert.match(r.stdout, /^missing_target\s+2\s/m);
  assert.match(r.stdout, /^market_id\s+121\s+0\.50%/m);
});

test('a truncated file fails with the line and field, no stack trace', { skip: noSample }, () => {
  const text = readFileSync(SAMPLE, 'utf8');
  const path = join(tmp, 'cut.csv');
  writeFileSync(path, text.slice(0, text.indexOf('\n', 1000) + 25));
  const r = etaops('validate', '--data', path);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error: .*cut\.csv: line \d+: expected 16 fields as in the header, found \d+: the row ends after field \d+ \('\w+'\)/m);
  assert.match(r.stderr, /^hint: .*truncated/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('flag mistakes are usage errors (exit 2)', () => {
  assert.equal(etaops('validate').status, 2);
  assert.equal(etaops('validate', '--data', 'x.csv', '--max-duration', 'soon').status, 2);
  const q = etaops('validate', '--query', 'SELECT 1');
  assert.equal(q.status, 2);
  assert.match(q.stderr, /ETAOPS_DATA_PG_URL/);
});
