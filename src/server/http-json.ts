/**
 * JSON in and out for every route: a body reader with a size limit and content-type check,
 * and error responses that always carry `{"error": ..., "details": [...]}`.
 *
 * We read bodies ourselves instead of express.json(): the errors are ours to word (which
 * field, why), the size limit answers 413 as JSON before reading an oversized body, and the
 * hot path skips body-parser's charset and inflate machinery that JSON clients never use.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FieldError } from './order-input.js';

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly details: FieldError[] = [], readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface ErrorBody {
  error: string;
  details?: { field: string; message: string }[];
}

export function errorBody(message: string, details: FieldError[] = []): ErrorBody {
  return details.length === 0 ? { error: message } : { error: message, details: details.map((d) => ({ field: d.path, message: d.message })) };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** Sends JSON already serialised: text, or its UTF-8 bytes. */
export function sendJsonText(res: ServerResponse, status: number, json: string | Uint8Array, headers?: Record<string, string>): void {
  res.statusCode = status;
  if (headers) for (const k in headers) res.setHeader(k, headers[k]);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', typeof json === 'string' ? Buffer.byteLength(json) : json.byteLength);
  res.end(json);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, errorBody(err.message, err.details), err.headers);
}

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const semi = value.indexOf(';');
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * Reads and parses a JSON request body of at most `limit` bytes.
 * Rejects with HttpError 415 (not JSON), 413 (too large) or 400 (empty or unparsable).
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return parseJsonBytes(await readJsonBytes(req, limit));
}

/**
 * Reads a JSON request body of at most `limit` bytes without parsing it (a batch worker parses
 * it off the event loop). Rejects with HttpError 415 (not JSON) or 413 (too large).
 */
export function readJsonBytes(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  if (!isJsonContentType(req.headers['content-type'])) {
    req.resume();
    return Promise.reject(new HttpError(415, `expected Content-Type: application/json, got ${req.headers['content-type'] ? `'${req.headers['content-type']}'` : 'none'}`));
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit, Number(declared)));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit, size));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => { if (!failed) { failed = true; reject(new HttpError(400, `could not read the request body: ${err.message}`)); } });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
  });
}

/** Parses a UTF-8 JSON body; HttpError 400 when it is empty or not JSON. */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buf.toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'the request body is empty; expected JSON');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

function tooLarge(limit: number, size: number): HttpError {
  return new HttpError(413, `the request body is ${Number.isFinite(size) ? `${size}+` : 'over the limit of'} bytes; the limit is ${limit} bytes (send large batches in several requests)`, [], { Connection: 'close' });
}
