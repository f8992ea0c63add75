/**
 * Renders crds/*.yaml from the kind definitions in v1alpha1.ts (`make crds`).
 * `--check` exits 1 when the files on disk differ (CI use); the unit test does the same.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { GROUP, toCRD, type KindDefinition } from './crd.js';
import type { AnySchema } from './schema.js';
import { KINDS } from './v1alpha1.js';

const HEADER = '# Generated from src/api/v1alpha1.ts by `make crds`. Do not edit.\n';

export function crdFileName(d: KindDefinition<AnySchema, AnySchema>): string {
  return `${GROUP}_${d.plural}.yaml`;
}

export function renderCRD(d: KindDefinition<AnySchema, AnySchema>): string {
  return HEADER + stringify(toCRD(d), { lineWidth: 0 });
}

/** File name → expected content for every kind. */
export function renderAll(): Map<string, string> {
  return new Map(KINDS.map((k) => [crdFileName(k as unknown as KindDefinition<AnySchema, AnySchema>), renderCRD(k as unknown as KindDefinition<AnySchema, AnySchema>)]));
}

function main(argv: string[]): number {
  const dir = argv.find((a) => !a.startsWith('--')) ?? 'crds';
  const check = argv.includes('--check');
  mkdirSync(dir, { recursive: true });
  let stale = 0;
  for (const [name, text] of renderAll()) {
    const path = join(dir, name);
    let old = '';
    try { old = readFileSync(path, 'utf8'); } catch { /* new file */ }
    if (old === text) continue;
    if (check) {
      process.stderr.write(`${path} is out of date: run 'make crds'\n`);
      stale++;
    } else {
      writeFileSync(path, text);
      process.stdout.write(`wrote ${path}\n`);
    }
  }
  return stale ? 1 : 0;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = main(process.argv.slice(2));
}
