/**
 * A Postgres query as a data source, validated exactly like a CSV file: each result row is
 * encoded into one reusable byte buffer and handed to the same DatasetBuilder. The query runs
 * under a server-side cursor (DECLARE ... CURSOR / FETCH n) in a read-only transaction, so a
 * big result streams with bounded memory. Values come back as text (no driver type parsing):
 * timestamps are rendered in UTC (SET LOCAL TimeZone) and parsed by parse.ts like file text.
 * Rows are numbered from 1 in the report ("row N of the query result").
 */
import type pg from 'pg';
import { DatasetBuilder, type ValidationOptions } from './builder.js';
import { DataError, redactUrl } from './errors.js';
import type { ReadResult } from './read.js';

/** Anything with pg's query(config) method: a Client, a PoolClient. */
export type PgQueryable = Pick<pg.ClientBase, 'query'>;

export interface QueryReadOptions extends ValidationOptions {
  /** Rows per FETCH (default 10,000). */
  fetchRows?: number;
}

const CURSOR = 'etaops_dataset_cursor';
const textTypes = { getTypeParser: () => (value: string) => value };

/** Reads the result of `sql` (a SELECT whose columns are named like the CSV header). */
export async function readDatasetFromQuery(pgUrlOrClient: string | PgQueryable, sql: string, options: QueryReadOptions = {}): Promise<ReadResult> {
  const fetchRows = options.fetchRows ?? 10_000;
  if (!Number.isInteger(fetchRows) || fetchRows < 1) throw new RangeError(`fetchRows must be a whole number >= 1, got ${fetchRows}`);
  const statement = sql.trim().replace(/;\s*$/, '');
  if (statement === '') throw new DataError('the dataset query is empty');
  const source = typeof pgUrlOrClient === 'string' ? `query on ${redactUrl(pgUrlOrClient)}` : 'query';
  let client: PgQueryable;
  let owned: pg.Client | undefined;
  if (typeof pgUrlOrClient === 'string') {
    const { default: driver } = await import('pg'); // loaded only when a query source is used
    owned = new driver.Client({ connectionString: pgUrlOrClient });
    // A connection that breaks is also an 'error' event, which would end the process unheard;
    // the query in flight rejects with the same error and is reported from there.
    owned.on('error', () => undefined);
    try {
      await owned.connect();
    } catch (err) {
      await owned.end().catch(() => undefined);
      throw new DataError(`${source}: cannot connect: ${(err as Error).message}`, 'check the Postgres URL / secret and that the server is up');
    }
    client = owned;
  } else {
    client = pgUrlOrClient;
  }
  try {
    return await readWithCursor(client, statement, source, fetchRows, options);
  } finally {
    await owned?.end().catch(() => undefined);
  }
}

async function readWithCursor(client: PgQueryable, statement: string, source: string, fetchRows: number, options: ValidationOptions): Promise<ReadResult> {
  const builder = new DatasetBuilder(source, options, 'row');
  await client.query('BEGIN READ ONLY');
  try {
    await client.query("SET LOCAL TimeZone = 'UTC'");
    try {
      await client.query(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${statement}`);
    } catch (err) {
      throw new DataError(`${source}: the query failed: ${(err as Error).message}`, 'the dataset query must be one SELECT returning the DoorDash columns by name');
    }
    const encoder = new TextEncoder();
    let buf = new Uint8Array(4096);
    let starts = new Int32Array(32);
    let ends = new Int32Array(32);
    let rowNumber = 0;
    for (;;) {
      let res: pg.QueryResult<unknown[]>;
      try {
        res = await client.query<unknown[]>({ text: `FETCH ${fetchRows} FROM ${CURSOR}`, rowMode: 'array', types: textTypes });
      } catch (err) {
        // A server that stops or a connection that breaks mid-read: nothing partial is returned.
        throw new DataError(`${source}: reading failed after row ${rowNumber}: ${(err as Error).message}`, 'the data was not read whole; check that the server is up and run again');
      }
      if (!builder.hasHeader) builder.setHeader(res.fields.map((f) => f.name), 0);
      for (const row of res.rows) {
        rowNumber++;
        if (row.length > starts.length) { starts = new Int32Array(row.length * 2); ends = new Int32Array(row.length * 2); }
        let used = 0;
        for (let i = 0; i < row.length; i++) {
          const v = row[i];
          const text = v === null || v === undefined ? '' : String(v);
          if (used + text.length * 3 > buf.length) {
            const grown = new Uint8Array(Math.max(buf.length * 2, used + text.length * 3));
            grown.set(buf.subarray(0, used));
            buf = grown;
          }
          starts[i] = used;
          used += encoder.encodeInto(text, buf.subarray(used)).written;
          ends[i] = used;
        }
        builder.record(buf, starts, ends, row.length, rowNumber);
      }
      if (res.rows.length < fetchRows) break;
    }
    await client.query(`CLOSE ${CURSOR}`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  const dataset = builder.finish();
  return { dataset, report: builder.report };
}
