/** The registry contract on PGlite (embedded mode), plus PGlite-specific persistence. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DatabaseUrlError, Registry, openDatabase } from '../../src/registry/index.js';
import { registryContract, sha } from './registry-fixtures.js';

let registry: Registry;
before(async () => {
  registry = await Registry.open('memory://');
});
after(async () => {
  await registry?.close();
});

registryContract('PGlite (in memory)', () => registry);

describe('PGlite data directory', () => {
  it('keeps versions and stages across close and reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etaops-pglite-'));
    try {
      const first = await Registry.open(`pglite://${dir}`);
      await first.registerVersion({ model: 'eta', artifactUri: 'file:///m/1', sha256: sha('1') });
      await first.transitionStage('eta', 1, 'Production', { who: 'demo', why: 'first' });
      await first.close();
      const second = await Registry.open(dir);
      assert.equal((await second.getProduction('eta'))?.artifactUri, 'file:///m/1');
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses URLs it cannot open without echoing credentials', async () => {
    await assert.rejects(openDatabase('mysql://user:hunter2@host/db'), (e: Error) => e instanceof DatabaseUrlError && !e.message.includes('hunter2'));
    await assert.rejects(openDatabase('memory://', { schema: 'x; drop' }), DatabaseUrlError);
  });
});
