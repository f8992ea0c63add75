/**
 * A small reader of the project's Dockerfile and .dockerignore for the image test: stages and
 * instructions as Docker sees them (line continuations joined, ARG defaults substituted in FROM),
 * and the build context that .dockerignore lets through. Only what our files use is understood;
 * anything else is an error, so the test cannot silently misread a changed Dockerfile.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Instruction { op: string; args: string; line: number }
export interface Stage { name?: string; image: string; instructions: Instruction[] }
export interface Dockerfile { globalArgs: Record<string, string>; stages: Stage[] }

/** Joins continuation lines and drops comments and blank lines. */
function logicalLines(text: string): Array<{ text: string; line: number }> {
  const out: Array<{ text: string; line: number }> = [];
  let cur = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!cur && (line === '' || line.startsWith('#'))) return;
    if (cur && line.startsWith('#')) return; // comments inside a continued instruction
    if (!cur) start = i + 1;
    if (line.endsWith('\\')) {
      cur += `${line.slice(0, -1).trim()} `;
      return;
    }
    out.push({ text: (cur + line).trim(), line: start });
    cur = '';
  });
  if (cur) out.push({ text: cur.trim(), line: start });
  return out;
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const { text: l, line } of logicalLines(text)) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`Dockerfile line ${line}: cannot read '${l}'`);
    const op = m[1].toUpperCase();
    const args = m[2];
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`Dockerfile line ${line}: FROM '${args}'`);
      const image = f[1].replace(/\$\{(\w+)\}/g, (_, v: string) => globalArgs[v] ?? '');
      stages.push({ name: f[2], image, instructions: [] });
    } else if (stages.length === 0) {
      if (op !== 'ARG') throw new Error(`Dockerfile line ${line}: ${op} before the first FROM`);
      const [k, v = ''] = args.split('=');
      globalArgs[k.trim()] = v.trim();
    } else {
      stages[stages.length - 1].instructions.push({ op, args, line });
    }
  }
  return { globalArgs, stages };
}

/** KEY=value pairs of an ENV or LABEL instruction (values may be double-quoted). */
export function keyValues(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g;
  for (let m = re.exec(args); m; m = re.exec(args)) out[m[1]] = m[2].startsWith('"') ? JSON.parse(m[2]) as string : m[2];
  return out;
}

/** An exec-form JSON array (ENTRYPOINT, CMD). */
export function execForm(args: string): string[] {
  const v = JSON.parse(args) as unknown;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`not an exec-form array: ${args}`);
  return v as string[];
}

function globToRegExp(pattern: string): RegExp {
  if (/[[\]{}]/.test(pattern)) throw new Error(`.dockerignore pattern '${pattern}' uses syntax this reader does not support`);
  const body = pattern
    .split('/')
    .map((part) => (part === '**' ? '.*' : part.replace(/[.+^$()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
    .join('/');
  return new RegExp(`^${body}$`);
}

/** Docker's rule: the last matching pattern wins; a pattern matches a path or any of its parents. */
export function dockerignoreFilter(text: string): (relPath: string) => boolean {
  const rules = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => {
    const negate = l.startsWith('!');
    const pat = path.posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+|\/+$/g, '');
    return { negate, re: globToRegExp(pat) };
  });
  return (rel) => {
    const parts = rel.split('/');
    let included = true;
    for (const r of rules) {
      let hit = false;
      for (let i = 1; i <= parts.length && !hit; i++) hit = r.re.test(parts.slice(0, i).join('/'));
      if (hit) included = r.negate;
    }
    return included;
  };
}

/** Every file under root (relative posix paths), skipping directories the caller names. */
export function listFiles(root: string, skipDirs: Set<string>, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, rel))) {
    const r = rel ? `${rel}/${name}` : name;
    const st = statSync(path.join(root, r));
    if (st.isDirectory()) {
      if (!skipDirs.has(r)) out.push(...listFiles(root, skipDirs, r));
    } else out.push(r);
  }
  return out;
}
