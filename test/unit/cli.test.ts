import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('etaops --help lists every command', async () => {
  const { COMMANDS } = await import('../../src/cli/main.js');
  const out = execFileSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
  for (const name of Object.keys(COMMANDS)) assert.match(out, new RegExp(`^  ${name} `, 'm'));
});

test('the package bin runs as a program (npx etaops execs it: it needs its shebang and the exec bit)', () => {
  // tsc writes 0644; a fresh clone's `npx etaops` said "Permission denied" until the build set the bit.
  const out = execFileSync(cli, ['--help'], { encoding: 'utf8' });
  assert.match(out, /^etaops: delivery-time prediction/);
});

test('an unknown command exits 2 and names it', () => {
  const r = spawnSync(process.execPath, [cli, 'no-such-thing'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'no-such-thing'/);
});
