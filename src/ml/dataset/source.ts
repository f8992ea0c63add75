/**
 * Byte sources: a URI becomes a stream of (decompressed) byte chunks. Supported: plain paths,
 * file://, https:// and http:// (node fetch), s3://bucket/key (@aws-sdk/client-s3). Gzip is
 * recognised by a `.gz` name or by its magic bytes, so a compressed object without the suffix
 * still reads. Failures become DataErrors naming the source.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { DataError, redactUrl } from './errors.js';

const CHUNK_BYTES = 1 << 20;

/** The S3 endpoint override (S3-compatible servers), if any. */
export function s3EndpointFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.ETAOPS_S3_ENDPOINT || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/** An S3 client configured the way every etaops component needs it (see DESIGN.md). */
export async function makeS3Client(endpoint = s3EndpointFromEnv()) {
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3Client({
    region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new DataError(`${uri}: not an s3://bucket/key URI`, 'write it as s3://bucket/path/to/file.csv');
  return { bucket: m[1], key: m[2] };
}

/** Where a URI points: for messages (no secrets) and for the gzip-by-name check. */
export function describeSource(uri: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) ? redactUrl(uri) : uri;
}

async function openRaw(uri: string): Promise<AsyncIterable<Uint8Array>> {
  const shown = describeSource(uri);
  if (/^https?:\/\//i.test(uri)) {
    let res: Response;
    try {
      // fetch refuses credentials in a URL: send them as basic auth instead (never in messages).
      const url = new URL(uri);
      const headers: Record<string, string> = {};
      if (url.username || url.password) {
        headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
        url.username = '';
        url.password = '';
      }
      res = await fetch(url, { headers });
    } catch (err) {
      throw new DataError(`${shown}: cannot fetch: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`);
    }
    if (!res.ok || !res.body) throw new DataError(`${shown}: HTTP ${res.status} ${res.statusText}`);
    return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  }
  if (/^s3:\/\//i.test(uri)) {
    const { bucket, key } = parseS3Uri(uri);
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const client = await makeS3Client();
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!out.Body) throw new DataError(`${shown}: the object has no body`);
      return out.Body as AsyncIterable<Uint8Array>;
    } catch (err) {
      if (err instanceof DataError) throw err;
      const e = err as Error & { name?: string; $metadata?: { httpStatusCode?: number } };
      const why = e.name === 'NoSuchKey' ? 'no such object' : e.name === 'NoSuchBucket' ? 'no such bucket' : `${e.name}: ${e.message}`;
      throw new DataError(`${shown}: cannot read: ${why}`, e.name === 'NoSuchKey' || e.name === 'NoSuchBucket' ? undefined : 'check the endpoint (ETAOPS_S3_ENDPOINT) and the AWS_* credentials');
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !/^file:\/\//i.test(uri)) {
    throw new DataError(`${shown}: unsupported URI scheme`, 'use a path, file://, https://, s3:// or a Postgres query');
  }
  const path = /^file:\/\//i.test(uri) ? fileURLToPath(uri) : uri;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new DataError(`${shown}: not a regular file`);
  } catch (err) {
    if (err instanceof DataError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(`${shown}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
  }
  return createReadStream(path, { highWaterMark: CHUNK_BYTES });
}

/**
 * Opens a URI as a stream of decompressed byte chunks. Errors while streaming (a broken
 * connection, a truncated gzip member) are rethrown as DataErrors naming the source.
 */
export async function* openByteSource(uri: string): AsyncGenerator<Uint8Array> {
  const shown = describeSource(uri);
  const raw = await openRaw(uri);
  const it = raw[Symbol.asyncIterator]();
  let first: IteratorResult<Uint8Array>;
  try {
    first = await it.next();
  } catch (err) {
    throw streamError(shown, err);
  }
  if (first.done) return;
  const head = first.value;
  const gzipped = (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) || /\.gz$/i.test(uri.replace(/[?#].*$/, ''));
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      yield head;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await it.return?.(); // closes the file / connection when the reader stops early
    }
  }
  let input: Readable | undefined;
  try {
    if (!gzipped) {
      yield* rest();
      return;
    }
    const gunzip = createGunzip({ chunkSize: CHUNK_BYTES });
    input = Readable.from(rest(), { objectMode: false });
    input.on('error', (err) => gunzip.destroy(err));
    input.pipe(gunzip);
    for await (const chunk of gunzip) yield chunk as Uint8Array;
  } catch (err) {
    throw streamError(shown, err);
  } finally {
    input?.destroy();
  }
}

function streamError(shown: string, err: unknown): Error {
  if (err instanceof DataError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(e.message ?? '')) {
    return new DataError(`${shown}: the gzip stream ends early: the file is truncated`, 'download or copy the file again');
  }
  if (e.code === 'Z_DATA_ERROR') return new DataError(`${shown}: corrupt gzip data: ${e.message}`);
  return new DataError(`${shown}: reading failed: ${e.message ?? String(err)}`);
}
