/**
 * `make demo` end to end: `etaops up` on a fresh folder must finish its set-up (generate,
 * train, register, promote, drift check, serve) and answer the curl it prints within 3
 * minutes, the product's promise. A second run reuses the model; SIGTERM stops it with exit 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SETUP_LIMIT_MS = 180_000;

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function startUp(dir: string): Started {
  const child = spawn(process.execPath, [cli, 'up', '--dir', dir, '--port', '0', '--rows', '20000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function waitForCurl(s: Started, limitMs: number): Promise<string> {
  const deadline = Date.now() + limitMs;
  let exited = false;
  void s.exit.then(() => { exited = true; });
  while (Date.now() < deadline && !exited) {
    const line = s.stdout().split('\n').find((l) => l.includes('curl '));
    if (line) return line.slice(line.indexOf('curl '));
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no curl line within ${limitMs} ms (exited: ${exited})\nstdout:\n${s.stdout()}\nstderr:\n${s.stderr()}`);
}

/** Runs the printed curl with fetch: its URL, headers and single-quoted -d body. */
async function runCurl(curl: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = /(https?:\/\/\S+)/.exec(curl)?.[1];
  const data = /-d '([^']*)'/.exec(curl)?.[1];
  const headers = Object.fromEntries([...curl.matchAll(/-H '([^:]+):\s*([^']*)'/g)].map((m) => [m[1], m[2]]));
  assert.ok(url && data, `a curl with a URL and a -d body: ${curl}`);
  assert.match(curl, /-X POST/);
  const r = await fetch(url, { method: 'POST', headers, body: data });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function stop(s: Started): Promise<number | null> {
  s.child.kill('SIGTERM');
  const timeout = setTimeout(() => s.child.kill('SIGKILL'), 30_000);
  const code = await s.exit;
  clearTimeout(timeout);
  return code;
}

test('make demo: set-up and the printed curl answer within 3 minutes; a second run reuses the model', { timeout: 2 * SETUP_LIMIT_MS + 60_000 }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'etaops-demo-'));
  try {
    const started = Date.now();
    const first = startUp(dir);
    try {
      const curl = await waitForCurl(first, SETUP_LIMIT_MS);
      const answer = await runCurl(curl);
      const elapsed = Date.now() - started;
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(typeof answer.body.prediction, 'number');
      assert.ok((answer.body.prediction as number) > 0, `a positive delivery time: ${answer.body.prediction}`);
      assert.equal(answer.body.model_version, '1');
      assert.ok(elapsed < SETUP_LIMIT_MS, `set-up + first answer took ${elapsed} ms (limit ${SETUP_LIMIT_MS})`);
      process.stderr.write(`# make demo: set-up and first answer in ${(elapsed / 1000).toFixed(1)} s\n`);
      const out = first.stdout();
      assert.match(out, /model\s+delivery-eta version 1 \(Production\): holdout RMSE \d+ s/);
      // The drift line says which columns moved and why the data set is (not) called drifted.
      assert.match(out, /drift\s+(DRIFT|no dataset drift) in generated 'busy-market' data: \d+ of \d+ columns drifted( \([a-z_, .]+\))?, (at or above|below) the 50% share that makes a data set drifted; report /);
      const report = /report (\S+drift-report\.html)/.exec(out)?.[1];
      assert.ok(report && existsSync(report), `the drift report exists: ${report}\n${out}\n${first.stderr()}`);
    } finally {
      assert.equal(await stop(first), 0, `exit 0 on SIGTERM\n${first.stderr()}`);
    }

    const second = startUp(dir);
    try {
      const curl = await waitForCurl(second, SETUP_LIMIT_MS);
      assert.match(second.stdout(), /model reused/);
      assert.doesNotMatch(second.stderr(), /train:/, 'no training on the second run');
      const answer = await runCurl(curl);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.model_version, '1');
    } finally {
      assert.equal(await stop(second), 0, `exit 0 on SIGTERM\n${second.stderr()}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
