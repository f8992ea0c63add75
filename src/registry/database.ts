/**
 * The `Database` the registry talks to: a thin common shape over `pg` (a Pool against a real
 * Postgres) and PGlite (Postgres compiled to WASM, in-process, for embedded mode). Both run the
 * same SQL; nothing above this file knows which driver it has.
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import { DatabaseUrlError } from './errors.js';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  /** One parameterised statement ($1, $2 ...). Objects meant for JSONB must be passed JSON.stringify'd. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly driver: 'pg' | 'pglite';
  /** The schema the tables live in (search_path), or undefined for the default (public). */
  readonly schema: string | undefined;
  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Keep the tables in this schema (created by migrate()); lets tests share one server. */
  schema?: string;
  /** pg only: pool size (default 10). */
  maxConnections?: number;
  /** pg only: give up connecting after this long (default 5000 ms). */
  connectTimeoutMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Quoted identifier for a schema name already checked against SCHEMA_NAME. */
export function quoteSchema(schema: string): string {
  return `"${schema}"`;
}

/**
 * Opens a database by URL:
 *  - `postgres://user:pass@host:port/db` or `postgresql://...`: the `pg` driver;
 *  - `memory://` or `pglite://memory`: PGlite in memory (gone at close);
 *  - `pglite:///abs/dir`, `file:///abs/dir` or a plain path: PGlite with its data in that folder.
 */
export async function openDatabase(url: string, opts: OpenDatabaseOptions = {}): Promise<Database> {
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
    throw new DatabaseUrlError(url, `schema '${opts.schema}' must match ${SCHEMA_NAME.source}`);
  }
  if (/^postgres(ql)?:\/\//.test(url)) return openPg(url, opts);
  if (url === 'memory://' || url === 'pglite://memory' || url === 'pglite://') return openPglite(undefined, opts);
  if (url.startsWith('pglite://')) return openPglite(resolve(url.slice('pglite://'.length)), opts);
  if (url.startsWith('file://')) return openPglite(fileURLToPath(url), opts);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && url !== '') return openPglite(resolve(url), opts);
  throw new DatabaseUrlError(url, 'use postgres://..., pglite:///dir, file:///dir or memory://');
}

async function openPg(url: string, opts: OpenDatabaseOptions): Promise<Database> {
  const pg = (await import('pg')).default;
  const pool: Pool = new pg.Pool({
    connectionString: url,
    max: opts.maxConnections ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    // The schema need not exist yet: search_path may name a missing schema until migrate().
    options: opts.schema ? `-c search_path=${opts.schema}` : undefined,
  });
  // An idle client losing its server (restart, outage) emits 'error' on the pool; unhandled,
  // that would take the whole process down. The next query reconnects or fails on its own.
  pool.on('error', () => {});
  const run = async <R>(c: Pool | PoolClient, sql: string, params?: unknown[]): Promise<QueryResult<R>> => {
    const r = await c.query(sql, params as unknown[] | undefined);
    return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
  };
  const onClient = (c: PoolClient): Queryable => ({
    query: (sql, params) => run(c, sql, params),
    exec: async (sql) => { await c.query(sql); },
  });
  return {
    driver: 'pg',
    schema: opts.schema,
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => { await pool.query(sql); },
    async transaction(fn) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const out = await fn(onClient(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        try { await client.query('ROLLBACK'); } catch { broken = true; }
        throw err;
      } finally {
        // A connection that could not roll back is in an unknown state: discard it.
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

async function openPglite(dataDir: string | undefined, opts: OpenDatabaseOptions): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db: PGlite = await PGlite.create(dataDir);
  if (opts.schema) await db.exec(`SET search_path TO ${quoteSchema(opts.schema)}`);
  const onTx = (tx: Transaction): Queryable => ({
    query: async <R>(sql: string, params?: unknown[]) => {
      const r = await tx.query<R>(sql, params);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    exec: async (sql) => { await tx.exec(sql); },
  });
  return {
    driver: 'pglite',
    schema: opts.schema,
    async query<R>(sql: string, params?: unknown[]) {
      const r = await db.query<R>(sql, params);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    exec: async (sql) => { await db.exec(sql); },
    transaction: (fn) => db.transaction((tx) => fn(onTx(tx))),
    close: () => db.close(),
  };
}
