/**
 * The registry on a real Postgres (the `pg` driver): the same contract PGlite passes in
 * test/unit/registry.test.ts, plus concurrent migrations. Every schema here is this file's own
 * (random name) and is dropped at the end, so other test files can share the server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type Database, MIGRATIONS, Registry, migrate, openDatabase } from '../../src/registry/index.js';
import { registryContract, sha } from '../unit/registry-fixtures.js';

const url = process.env.ETAOPS_TEST_PG_URL;
const skip = url ? false : 'ETAOPS_TEST_PG_URL is not set: run under hack/with-test-env.sh (make test) to start Postgres';
const schemaName = (tag: string) => `etaops_${tag}_${randomBytes(4).toString('hex')}`;
const schemas: string[] = [];

let registry: Registry;

describe('registry on a real Postgres', { skip }, () => {
  before(async () => {
    const schema = schemaName('reg');
    schemas.push(schema);
    registry = await Registry.open(url as string, { schema });
  });

  after(async () => {
    if (!url) return;
    await registry?.close();
    const admin = await openDatabase(url);
    for (const s of schemas) await admin.exec(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await admin.close();
  });

  registryContract('Postgres (pg driver)', () => registry);

  it('applies migrations once when four processes start at the same time on a fresh schema', async () => {
    const schema = schemaName('mig');
    schemas.push(schema);
    const dbs: Database[] = await Promise.all([1, 2, 3, 4].map(() => openDatabase(url as string, { schema, maxConnections: 2 })));
    try {
      const results = await Promise.all(dbs.map((db) => migrate(db)));
      const latest = MIGRATIONS.length;
      assert.deepEqual(results.map((r) => r.applied.length).sort(), [0, 0, 0, latest], 'exactly one caller applied them, all at once');
      assert.ok(results.every((r) => r.current === latest));
      const tables = await dbs[0].query<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [schema]);
      assert.deepEqual(tables.rows.map((t) => t.table_name),
        ['drift_results', 'feedback', 'model_versions', 'models', 'prediction_log', 'schema_migrations', 'stage_transitions']);
      const recorded = await dbs[1].query<{ n: number }>('SELECT count(*)::integer AS n FROM schema_migrations');
      assert.equal(recorded.rows[0].n, latest);
      assert.deepEqual((await migrate(dbs[2])).applied, [], 'a later start finds nothing to do');
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });

  it('upgrades a database made by an older etaops one migration at a time, and refuses to downgrade', async () => {
    const schema = schemaName('upg');
    schemas.push(schema);
    const db = await openDatabase(url as string, { schema });
    try {
      assert.deepEqual((await migrate(db, MIGRATIONS.slice(0, 1))).applied, [1]);
      await db.query(`INSERT INTO models (name, latest_version) VALUES ('kept', 0)`);
      assert.deepEqual((await migrate(db)).applied, MIGRATIONS.slice(1).map((m) => m.version));
      assert.equal((await db.query('SELECT 1 FROM models WHERE name = $1', ['kept'])).rows.length, 1, 'data survives the upgrade');
      await assert.rejects(migrate(db, MIGRATIONS.slice(0, 1)), /newer than this etaops knows/);
    } finally {
      await db.close();
    }
  });

  it('keeps schemas apart: a model registered in one is unknown in another', async () => {
    const schema = schemaName('iso');
    schemas.push(schema);
    const other = await Registry.open(url as string, { schema });
    try {
      await registry.registerVersion({ model: 'isolated', artifactUri: 'file:///m', sha256: sha('m') });
      assert.deepEqual(await other.listModels(), []);
    } finally {
      await other.close();
    }
  });

  it('rolls a failed registration back whole: no half-made version or history', async () => {
    const before = await registry.db.query<{ n: number }>('SELECT count(*)::integer AS n FROM stage_transitions');
    // Bypass the API's checks to hit the database constraint mid-transaction.
    await assert.rejects(registry.db.transaction(async (tx) => {
      await tx.query(`INSERT INTO models (name, latest_version) VALUES ('rollback-me', 1)`);
      await tx.query(`INSERT INTO model_versions (model, version, artifact_uri, sha256) VALUES ('rollback-me', 1, 'file:///x', 'not-hex')`);
    }), (e: { code?: string }) => e.code === '23514');
    assert.equal((await registry.db.query('SELECT 1 FROM models WHERE name = $1', ['rollback-me'])).rows.length, 0);
    const afterCount = await registry.db.query<{ n: number }>('SELECT count(*)::integer AS n FROM stage_transitions');
    assert.equal(afterCount.rows[0].n, before.rows[0].n);
  });
});
