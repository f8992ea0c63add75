/**
 * The kind / k3s quick starts and the GitHub Actions workflow cannot run here (no Docker engine,
 * no network): this checks everything about them that can be checked without a cluster. The
 * scripts parse (bash -n) and pass shellcheck (when Debian's shellcheck is installed, as
 * hack/ensure-packaging-tools.sh does for `make test`); every repository file they use exists;
 * every manifest they apply parses; the CLI flags of the seed Job are accepted by the real CLI; the
 * order they curl is valid for the real server's order parser; the workflow runs the kind script
 * with pinned actions; and the docs say plainly that they were not run here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { parseOrders } from '../../src/server/order-input.js';
import { ORDER_INPUT_COLUMNS } from '../../src/ml/dataset/schema.js';

const ROOT = path.resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const QS = path.join(ROOT, 'docs', 'quickstart');
const scripts = readdirSync(QS).filter((f) => f.endsWith('.sh')).map((f) => path.join(QS, f));
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
const haveShellcheck = sh('shellcheck', ['--version']).status === 0;

test('the quick-start scripts exist, are executable and parse', () => {
  assert.deepEqual(scripts.map((s) => path.basename(s)).sort(), ['k3s.sh', 'kind.sh', 'lib.sh']);
  for (const s of scripts) {
    const r = sh('bash', ['-n', s]);
    assert.equal(r.status, 0, `bash -n ${s}:\n${r.stderr}`);
    if (!s.endsWith('lib.sh')) assert.ok(statSync(s).mode & 0o100, `${s} is executable`);
  }
});

test('the quick-start scripts pass shellcheck', { skip: haveShellcheck ? false : 'shellcheck is not installed (hack/ensure-packaging-tools.sh installs it)' }, () => {
  const r = sh('shellcheck', ['-x', '--severity=style', ...scripts.map((s) => path.relative(ROOT, s))]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('every repository file the scripts use exists, and every manifest they apply parses', () => {
  const used = new Set<string>();
  for (const s of scripts) {
    for (const m of readFileSync(s, 'utf8').matchAll(/\$ROOT\/([\w./-]+)/g)) used.add(m[1]);
  }
  for (const u of ['manifests/samples/trainingrun.yaml', 'manifests/samples/driftcheck.yaml', 'manifests/rbac/job.yaml', 'charts/etaops', 'docs/quickstart/order.json']) {
    assert.ok(used.has(u), `the quick start uses ${u}`);
  }
  for (const u of used) {
    assert.ok(existsSync(path.join(ROOT, u)), `${u} exists`);
    if (u.endsWith('.yaml')) {
      const docs = parseAllDocuments(readFileSync(path.join(ROOT, u), 'utf8'));
      for (const d of docs) assert.deepEqual(d.errors, [], `${u} parses`);
      assert.ok(docs.every((d) => { const o = d.toJS() as { kind?: string } | null; return !o || typeof o.kind === 'string'; }), `${u}: every document has a kind`);
    }
  }
});

test('the seed Job runs gen-data with flags the real CLI accepts', () => {
  const job = parse(readFileSync(path.join(QS, 'seed-data.yaml'), 'utf8')) as { spec: { template: { spec: { initContainers: Array<{ args: string[] }> } } } };
  const args = job.spec.template.spec.initContainers[0].args;
  assert.equal(args[0], 'gen-data');
  const out = args.indexOf('--out');
  assert.ok(out > 0, 'writes a file');
  const dir = mkdtempSync(path.join(tmpdir(), 'etaops-docs-'));
  try {
    const local = [...args];
    local[out + 1] = path.join(dir, 'historical_data.csv');
    const r = spawnSync(process.execPath, [CLI, ...local], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(local[out + 1], 'utf8').trimEnd().split('\n');
    assert.equal(lines.length - 1, Number(args[args.indexOf('--rows') + 1]), 'as many orders as asked');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the order the quick start posts is a complete, valid order for the server', () => {
  const order = JSON.parse(readFileSync(path.join(QS, 'order.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(order).sort(), [...ORDER_INPUT_COLUMNS].sort(), 'every input column, nothing else');
  const parsed = parseOrders(order);
  assert.equal(parsed.rows.length, 1);
  assert.deepEqual(parsed.unknownFields, []);
  assert.equal(parsed.missingFields.size, 0);
});

test('the GitHub Actions workflow runs the kind quick start with pinned actions', () => {
  const wf = parse(readFileSync(path.join(ROOT, '.github', 'workflows', 'kind-quickstart.yaml'), 'utf8')) as { jobs: Record<string, { 'timeout-minutes'?: number; steps: Array<{ uses?: string; run?: string }> }> };
  const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
  assert.ok(steps.some((s) => s.run?.trim() === 'docs/quickstart/kind.sh'), 'a step runs docs/quickstart/kind.sh');
  for (const s of steps.filter((x) => x.uses)) assert.match(s.uses!, /^[\w.-]+\/[\w.-]+@v\d+/, `${s.uses} is pinned to a major version`);
  assert.ok(steps.some((s) => s.uses?.startsWith('helm/kind-action@')), 'kind comes from the kind action');
  assert.ok(Object.values(wf.jobs).every((j) => (j['timeout-minutes'] ?? 360) <= 60), 'bounded in time');
});

test('the docs say plainly what was not run here', () => {
  for (const doc of ['kind.md', 'k3s.md', 'eks.md']) {
    const text = readFileSync(path.join(ROOT, 'docs', doc), 'utf8');
    assert.match(text, /\*\*Not (run|verified)[^*]*\*\*/, `${doc} states that it was not run here`);
  }
});
