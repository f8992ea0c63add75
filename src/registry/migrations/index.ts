/**
 * Versioned schema migrations, embedded as TS strings so they ship in dist/ with the code.
 * Append new ones (002_..., 003_...); never edit an applied one: migrate() refuses a database
 * whose recorded checksum differs from the shipped SQL.
 */
import { createHash } from 'node:crypto';
import type { Database } from '../database.js';
import { quoteSchema } from '../database.js';
import { RegistryError } from '../errors.js';
import { SQL_001_INIT } from './001_init.js';
import { SQL_002_RUN_LINEAGE } from './002_run_lineage.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export interface MigrateResult {
  /** Versions applied by this call (empty when the database was up to date). */
  applied: number[];
  /** The schema version after the call. */
  current: number;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: '001_init', sql: SQL_001_INIT },
  { version: 2, name: '002_run_lineage', sql: SQL_002_RUN_LINEAGE },
];

function checksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

/**
 * Brings the database up to the latest migration. Safe to run twice and concurrently: all
 * work happens in one transaction holding an advisory lock keyed by the schema, so a second
 * caller waits and then finds nothing left to do. A failing migration rolls back whole.
 */
export async function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrateResult> {
  const schema = db.schema ?? 'public';
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`etaops.migrate:${schema}`]);
    if (db.schema) await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${quoteSchema(db.schema)}`);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = await tx.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version');
    const recorded = new Map(done.rows.map((r) => [r.version, r]));
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      const sum = checksum(m.sql);
      const row = recorded.get(m.version);
      if (row) {
        if (row.checksum !== sum) {
          throw new RegistryError(`migration ${m.name} was changed after it was applied to schema ${schema} (checksum differs); add a new migration instead`);
        }
        continue;
      }
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, sum]);
      applied.push(m.version);
    }
    const known = Math.max(0, ...migrations.map((m) => m.version));
    const newest = Math.max(0, ...done.rows.map((r) => r.version));
    if (newest > known) {
      throw new RegistryError(`schema ${schema} is at migration ${newest}, newer than this etaops knows (${known}); upgrade etaops`);
    }
    return { applied, current: Math.max(known, newest) };
  });
}
