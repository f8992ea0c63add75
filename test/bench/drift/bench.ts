/**
 * `make bench-drift`: etaops drift vs Evidently (DataDriftPreset, its default tests), same files,
 * same run.
 *  1. Scenarios cut from the real sample (test/bench/drift/scenarios.ts): etaops' decisions under
 *     both rules, and Evidently's, per column → agreement table.
 *  2. Speed: 1M vs 1M generated rows × 13 columns. etaops with the reference as raw data and as a
 *     saved training profile (each in its own process, peak RSS reported), Evidently's
 *     Report.run on the same rows. Ratios are taken within this run.
 * Results: test/bench/results/drift/bench.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDriftCheck } from '../../../src/drift/check.js';
import { driftColumnsOf } from '../../../src/drift/columns.js';
import { buildTrainingProfile } from '../../../src/drift/profile.js';
import { readDataset } from '../../../src/ml/dataset/read.js';
import { writeGeneratedCsv } from '../../../src/ml/generate/index.js';
import { buildScenarios, SAMPLE_PATH, writeDriftCsv } from './scenarios.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.resolve(HERE, '../../../../test/bench/drift');
const OUT = path.resolve('test/bench/results/drift');
const BIG_ROWS = Number(process.env.DRIFT_BENCH_ROWS ?? 1_000_000);

function python(): string {
  return execFileSync(path.join(SRC, 'venv.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

async function scenarios(): Promise<string | null> {
  if (!existsSync(SAMPLE_PATH)) {
    process.stdout.write(`scenarios skipped: ${SAMPLE_PATH} not found\n`);
    return null;
  }
  const { dataset } = await readDataset(SAMPLE_PATH);
  const decisions: Record<string, Record<string, Record<string, { test: string; score: number | null; drifted: boolean }>>> = {};
  for (const s of buildScenarios(dataset)) {
    const dir = path.join(OUT, 'scenarios', s.name);
    await writeDriftCsv(s.reference, path.join(dir, 'reference.csv'));
    await writeDriftCsv(s.current, path.join(dir, 'current.csv'));
    decisions[s.name] = {};
    for (const rule of ['etaops', 'evidently'] as const) {
      const r = runDriftCheck({ data: driftColumnsOf(s.reference) }, driftColumnsOf(s.current), { rule });
      decisions[s.name][rule] = Object.fromEntries(Object.entries(r.columns).map(([c, v]) => [c, { test: v.test, score: v.score, drifted: v.drifted }]));
    }
  }
  const file = path.join(OUT, 'etaops-scenarios.json');
  await writeFile(file, JSON.stringify(decisions, null, 1));
  return file;
}

interface ChildResult {
  mode: string;
  seconds: number;
  maxRssMiB: number;
  rssBeforeReferenceMiB: number;
  drifted: string[];
}

function child(mode: 'raw' | 'profile', ref: string, cur: string): ChildResult {
  const out = execFileSync(process.execPath, [path.join(HERE, 'check-child.js'), mode, ref, cur], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop() as string) as ChildResult;
}

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  const py = python();
  const etaopsScenarios = await scenarios();

  // Big files: generated with the project's generator; the current window has the
  // 'busy-market' shift so some columns really move.
  const bigDir = path.join(OUT, 'big');
  await mkdir(bigDir, { recursive: true });
  const refCsv = path.join(bigDir, `reference-${BIG_ROWS}.csv`);
  const curCsv = path.join(bigDir, `current-${BIG_ROWS}.csv`);
  if (!existsSync(refCsv)) await writeGeneratedCsv(refCsv, { rows: BIG_ROWS, seed: 11 });
  if (!existsSync(curCsv)) await writeGeneratedCsv(curCsv, { rows: BIG_ROWS, seed: 12, shift: 'busy-market' });
  const profilePath = path.join(bigDir, `profile-${BIG_ROWS}.json`);
  const { dataset: refData } = await readDataset(refCsv);
  await writeFile(profilePath, JSON.stringify(buildTrainingProfile(refData, { includeTarget: false })));
  const profileBytes = (await stat(profilePath)).size;

  // Warm-up once (JIT), then best of 3 for each mode.
  const runs = (mode: 'raw' | 'profile', ref: string): ChildResult => {
    child(mode, ref, curCsv);
    const rs = [0, 1, 2].map(() => child(mode, ref, curCsv));
    return rs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  };
  const raw = runs('raw', refCsv);
  const prof = runs('profile', profilePath);
  process.stdout.write(`etaops raw reference: ${raw.seconds.toFixed(3)} s, peak RSS ${raw.maxRssMiB.toFixed(0)} MiB\n`);
  process.stdout.write(`etaops profile reference: ${prof.seconds.toFixed(3)} s, peak RSS ${prof.maxRssMiB.toFixed(0)} MiB (profile ${(profileBytes / 1024).toFixed(0)} KiB)\n`);

  const pyOut = execFileSync(
    py,
    [path.join(SRC, 'evidently_bench.py'), '--scenarios', etaopsScenarios ? path.join(OUT, 'scenarios') : '', '--etaops', etaopsScenarios ?? '', '--reference', refCsv, '--current', curCsv],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20 },
  );
  const lines = pyOut.trimEnd().split('\n');
  const ev = JSON.parse(lines.pop() as string) as { evidently_seconds: number; evidently_drifted: string[]; agreement: unknown; evidently_version: string };
  process.stdout.write(lines.join('\n') + '\n');

  const summary = {
    rows: BIG_ROWS,
    columns: 13,
    etaops_raw_seconds: raw.seconds,
    etaops_profile_seconds: prof.seconds,
    evidently_seconds: ev.evidently_seconds,
    speedup_raw: ev.evidently_seconds / raw.seconds,
    speedup_profile: ev.evidently_seconds / prof.seconds,
    etaops_raw_peak_rss_mib: raw.maxRssMiB,
    etaops_profile_peak_rss_mib: prof.maxRssMiB,
    etaops_rss_before_reference_mib: { raw: raw.rssBeforeReferenceMiB, profile: prof.rssBeforeReferenceMiB },
    profile_bytes: profileBytes,
    drifted: { etaops_raw: raw.drifted, etaops_profile: prof.drifted, evidently: ev.evidently_drifted },
    evidently_version: ev.evidently_version,
    agreement: ev.agreement,
  };
  await writeFile(path.join(OUT, 'bench.json'), JSON.stringify(summary, null, 2));
  process.stdout.write(
    `\n${BIG_ROWS} vs ${BIG_ROWS} rows × 13 columns: etaops ${raw.seconds.toFixed(2)} s (raw), ${prof.seconds.toFixed(2)} s (profile); ` +
      `Evidently ${ev.evidently_seconds.toFixed(2)} s → ${summary.speedup_raw.toFixed(1)}× / ${summary.speedup_profile.toFixed(1)}× faster\n` +
      `drifted columns agree (raw vs Evidently): ${JSON.stringify([...raw.drifted].sort()) === JSON.stringify([...ev.evidently_drifted].sort())}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
