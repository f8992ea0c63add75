/**
 * SQL only parameterised: every SQL text the product sends (`.query(...)`, `.exec(...)` in src/)
 * is a literal, and values travel as $n parameters. A template literal may interpolate only a
 * constant (UPPER_CASE name) or an expression listed below with the reason it cannot carry
 * input; anything else (a model name, a request id, ...) fails here with its file and line.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/** Interpolations that are not constants, per file, and why they are safe. */
const ALLOWED: Record<string, Record<string, string>> = {
  'src/registry/registry.ts': {
    table: 'one of the literal table names of a const tuple (pruneLogs)',
    idColumn: 'a literal column name picked from that table',
  },
  'src/registry/database.ts': { 'quoteSchema(opts.schema)': 'the schema name is checked against SCHEMA_NAME when the database is opened' },
  'src/registry/migrations/index.ts': { 'quoteSchema(db.schema)': 'checked against SCHEMA_NAME when the database was opened' },
  'src/ml/dataset/query.ts': {
    statement: "the data set query itself: the user's own SELECT, run inside BEGIN READ ONLY with their own credentials",
    fetchRows: 'an integer checked to be >= 1',
  },
};

interface SqlText { file: string; line: number; text: string; interpolations: string[] }

/** Template-literal SQL passed to .query( / .query<T>( / .exec( ( / { text: `...` } ). */
export function sqlTexts(file: string, source: string): SqlText[] {
  const out: SqlText[] = [];
  const call = /\.(?:query|exec)\s*(?:<[^>()]*>)?\s*\(\s*(?:\{\s*text\s*:\s*)?`/g;
  for (let m = call.exec(source); m; m = call.exec(source)) {
    const start = m.index + m[0].length;
    let i = start;
    const interpolations: string[] = [];
    while (i < source.length && source[i] !== '`') {
      if (source[i] === '\\') i += 2;
      else if (source[i] === '$' && source[i + 1] === '{') {
        let depth = 1;
        const from = i + 2;
        i = from;
        while (i < source.length && depth > 0) {
          if (source[i] === '{') depth++;
          else if (source[i] === '}') depth--;
          i++;
        }
        interpolations.push(source.slice(from, i - 1).trim());
      } else i++;
    }
    out.push({ file, line: source.slice(0, m.index).split('\n').length, text: source.slice(start, i), interpolations });
  }
  return out;
}

/** Interpolations that are neither constants nor allowed for their file. */
export function unsafeInterpolations(texts: SqlText[], allowed = ALLOWED): string[] {
  const bad: string[] = [];
  for (const t of texts) {
    for (const expr of t.interpolations) {
      if (/^[A-Z][A-Z0-9_]*$/.test(expr) || allowed[t.file]?.[expr]) continue;
      bad.push(`${t.file}:${t.line}: \${${expr}} in SQL text`);
    }
  }
  return bad;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every SQL text in src/ is a literal with $n parameters; interpolated pieces are constants or listed with a reason', () => {
  const texts = sourceFiles(path.join(ROOT, 'src')).flatMap((f) => sqlTexts(path.relative(ROOT, f), readFileSync(f, 'utf8')));
  // The scan must see the registry's queries at all, or it proves nothing.
  assert.ok(texts.length >= 10, `found ${texts.length} template-literal SQL texts`);
  assert.ok(texts.some((t) => t.file === 'src/registry/registry.ts' && /model_versions/.test(t.text)), 'found the registry queries');
  assert.deepEqual(unsafeInterpolations(texts), []);
  // Every allow-list entry is still used (a stale entry would hide nothing, but says something false).
  for (const [file, entries] of Object.entries(ALLOWED)) {
    for (const expr of Object.keys(entries)) {
      assert.ok(texts.some((t) => t.file === file && t.interpolations.includes(expr)), `${file}: allowed \${${expr}} is no longer used`);
    }
  }
});

test('the scan catches a value interpolated into SQL', () => {
  const bad = 'await db.query(`SELECT * FROM models WHERE name = \'${model}\'`);\nawait tx.query<Row>(`DELETE FROM ${TABLE} WHERE id = ${req.id}`, []);\nawait c.query({ text: `FETCH ${n} FROM ${CURSOR}` });';
  assert.deepEqual(unsafeInterpolations(sqlTexts('src/x.ts', bad)), [
    'src/x.ts:1: ${model} in SQL text',
    'src/x.ts:2: ${req.id} in SQL text',
    'src/x.ts:3: ${n} in SQL text',
  ]);
  assert.deepEqual(sqlTexts('src/x.ts', "db.query('SELECT 1 WHERE a = $1', [a]);"), [], 'a plain string with parameters is fine');
});
