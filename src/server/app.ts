/**
 * HTTP routes of the prediction server (express 5): the seed's /predict contract, the Open
 * Inference Protocol v2, /feedback, /metrics and /admin/reload. Every answer, errors included,
 * is JSON; nothing a client sends can take the process down.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { HttpError, parseJsonBytes, readJsonBody, readJsonBytes, sendError, sendJson, sendJsonText } from './http-json.js';
import { OrderValidationError, createdAtOf, describeValue } from './order-input.js';
import { OFF_THREAD_MIN_BYTES, type BatchKind, type BatchOutcome } from './batch-pool.js';
import { predictAnswer } from './predict-answer.js';
import { INPUT_TENSORS, InferRequestError, OUTPUT_TENSORS, inferAnswer, parseInferOrders } from './oip.js';
import { NotReadyError, type PredictionService } from './service.js';
import { parseTimestampUtc } from '../ml/dataset/parse.js';

const SERVER_NAME = 'etaops';

/**
 * Generated request ids: a random per-process prefix and a counter. Unique across replicas
 * and restarts (2^72 prefixes), and far cheaper than a UUID per request.
 */
const ID_PREFIX = randomBytes(9).toString('base64url');
let idCounter = 0;
function newRequestId(): string {
  idCounter++;
  return `${ID_PREFIX}-${idCounter.toString(36)}`;
}
const PLATFORM = 'onnxruntime_onnx';

type Params = Record<string, string | undefined>;
type Handler = (req: IncomingMessage, res: ServerResponse, params: Params) => Promise<void> | void;
type Listener = (req: IncomingMessage, res: ServerResponse, params: Params) => Promise<void>;

function clientOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

function isLoopback(addr: string): boolean {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1';
}

/** Maps any thrown value onto an HTTP answer; unexpected errors become a 500 without internals. */
function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof OrderValidationError) return new HttpError(400, `invalid order: ${err.errors.length} bad field${err.errors.length === 1 ? '' : 's'}`, err.errors);
  if (err instanceof InferRequestError) return new HttpError(400, `invalid inference request: ${err.errors.length} problem${err.errors.length === 1 ? '' : 's'}`, err.errors);
  if (err instanceof NotReadyError) return new HttpError(503, err.message, [], { 'Retry-After': '1' });
  const e = err as { type?: string; status?: number; message?: string };
  // Errors raised by express itself (e.g. a malformed URL) carry a 4xx status.
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new HttpError(e.status, e.message ?? 'bad request');
  return new HttpError(500, 'internal error while handling the request (logged on the server)');
}

/**
 * The server's request listener. POST /predict, the hot path, is dispatched before express's
 * router (measured: the router and its request/response decoration cost more than scoring a
 * row); every other route goes through express.
 */
export function createRequestListener(service: PredictionService): (req: IncomingMessage, res: ServerResponse) => void {
  const app = createApp(service);
  const predictRoute = instrumented(service, '/predict', (req, res) => predict(service, req, res, service.options.bodyLimitBytes), { limited: true });
  const none: Params = {};
  return (req, res) => {
    const url = req.url ?? '';
    if (req.method === 'POST' && (url === '/predict' || url.startsWith('/predict?'))) void predictRoute(req, res, none);
    else app(req, res);
  };
}

/** Wraps a handler: latency + count metrics, rate limit, and JSON errors. */
function instrumented(service: PredictionService, name: string, handler: Handler, opts: { limited?: boolean } = {}): Listener {
  const { metrics, limiter } = service;
  return async (req, res, params) => {
    const start = performance.now();
    if (service.draining) res.setHeader('Connection', 'close');
    try {
      if (opts.limited && limiter.enabled && !limiter.allow(clientOf(req))) {
        throw new HttpError(429, `too many requests from ${clientOf(req)}: the limit is ${limiter.options.ratePerSecond} per second`, [], { 'Retry-After': String(limiter.retryAfterSeconds(clientOf(req))) });
      }
      await handler(req, res, params);
    } catch (err) {
      const httpErr = toHttpError(err);
      if (httpErr.status === 500) process.stderr.write(`etaops serve: ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}\n`);
      if (!res.headersSent) sendError(res, httpErr);
      else res.destroy();
    }
    // Every handler has answered (res.end) by now: the socket write is queued, so this is
    // the request's service time, measured without a per-request 'finish' listener.
    metrics.observeRequest(name, req.method ?? '', res.statusCode, (performance.now() - start) / 1000);
  };
}

export function createApp(service: PredictionService): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  const { metrics } = service;
  const bodyLimit = service.options.bodyLimitBytes;
  const route = (name: string, handler: Handler, opts: { limited?: boolean } = {}) => {
    const listener = instrumented(service, name, handler, opts);
    return (req: Request, res: Response) => listener(req, res, req.params as Params);
  };

  app.post('/predict', route('/predict', (req, res) => predict(service, req, res, bodyLimit), { limited: true }));
  app.post('/feedback', route('/feedback', (req, res) => feedback(service, req, res, bodyLimit), { limited: true }));
  app.get('/metrics', route('/metrics', async (_req, res) => {
    const { contentType, body } = await metrics.render();
    res.setHeader('Content-Type', contentType);
    res.end(body);
  }));
  app.get('/v2', route('/v2', (_req, res) => sendJson(res, 200, { name: SERVER_NAME, version: '2', extensions: [] })));
  app.get('/v2/health/live', route('/v2/health/live', (_req, res) => sendJson(res, 200, { live: true })));
  app.get('/v2/health/ready', route('/v2/health/ready', (_req, res) => sendJson(res, service.ready ? 200 : 503, { ready: service.ready })));
  const metadata: Handler = (_req, res, params) => {
    const id = modelFor(service, params);
    sendJson(res, 200, { name: id.name, versions: [id.version], platform: PLATFORM, inputs: INPUT_TENSORS, outputs: OUTPUT_TENSORS });
  };
  app.get('/v2/models/:name', route('/v2/models/:name', metadata));
  app.get('/v2/models/:name/versions/:version', route('/v2/models/:name', metadata));
  const modelReady: Handler = (_req, res, params) => {
    const ready = service.ready && matchesModel(service, params);
    sendJson(res, ready ? 200 : 503, { name: params.name, ready });
  };
  app.get('/v2/models/:name/ready', route('/v2/models/:name/ready', modelReady));
  app.get('/v2/models/:name/versions/:version/ready', route('/v2/models/:name/ready', modelReady));
  const infer: Handler = (req, res, params) => oipInfer(service, req, res, params, bodyLimit);
  app.post('/v2/models/:name/infer', route('/v2/models/:name/infer', infer, { limited: true }));
  app.post('/v2/models/:name/versions/:version/infer', route('/v2/models/:name/infer', infer, { limited: true }));
  app.post('/admin/reload', route('/admin/reload', (req, res) => adminReload(service, req, res)));

  app.use(route('unmatched', (req) => {
    throw new HttpError(404, `no route ${req.method} ${(req.url ?? '').split('?')[0]}; see /v2 and /predict`);
  }));
  // Last resort for errors raised outside our handlers (express's own).
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (!res.headersSent) sendError(res, toHttpError(err));
  });
  return app;
}

/** Unknown body keys are ignored but reported back in this header (and counted in /metrics). */
export const UNKNOWN_FIELDS_HEADER = 'X-Etaops-Unknown-Fields';

/** Echoes the id in X-Request-Id when it is header-safe (the body's id may hold anything). */
function setRequestIdHeader(res: ServerResponse, id: string): void {
  if (/^[\x20-\x7e]{1,200}$/.test(id)) res.setHeader('X-Request-Id', id);
}

function unknownFieldsHeader(paths: string[]): string {
  const shown = paths.slice(0, 20).map((p) => (p.length > 100 ? `${p.slice(0, 100)}...` : p).replace(/[^\x21-\x7e]/g, '?')).join(', ');
  return paths.length > 20 ? `${shown}, ... (${paths.length} in all)` : shown;
}

function headerRequestId(req: IncomingMessage): string | undefined {
  const h = req.headers['x-request-id'];
  const v = Array.isArray(h) ? h[0] : h;
  return v && v.length <= 200 ? v : undefined;
}

/** The error a batch worker's failed outcome stands for (answered as the event loop would). */
function outcomeError(outcome: Exclude<BatchOutcome, { ok: true }>): Error {
  if ('invalidOrder' in outcome) return new OrderValidationError(outcome.invalidOrder);
  if ('invalidInfer' in outcome) return new InferRequestError(outcome.invalidInfer);
  return new HttpError(outcome.http.status, outcome.http.message, outcome.http.details);
}

/** A large body's answer from a batch worker, or undefined when none is ready (score it here). */
async function offThread(service: PredictionService, kind: BatchKind, bytes: Uint8Array, requestId: () => string): Promise<Extract<BatchOutcome, { ok: true }> | undefined> {
  const pending = bytes.byteLength >= OFF_THREAD_MIN_BYTES ? service.predictOffThread(kind, bytes, requestId()) : undefined;
  if (!pending) return undefined;
  const outcome = await pending;
  if (!outcome.ok) throw outcomeError(outcome);
  return outcome;
}

async function predict(service: PredictionService, req: IncomingMessage, res: ServerResponse, limit: number): Promise<void> {
  const bytes = await readJsonBytes(req, limit);
  const base = headerRequestId(req);
  const done = await offThread(service, 'predict', bytes, () => base ?? newRequestId());
  if (done) {
    if (done.unknownFields.length > 0) res.setHeader(UNKNOWN_FIELDS_HEADER, unknownFieldsHeader(done.unknownFields));
    if (done.headerId !== undefined) setRequestIdHeader(res, done.headerId);
    sendJsonText(res, 200, done.body);
    return;
  }
  const body = parseJsonBytes(bytes);
  const parsed = service.parse(body);
  const scored = await service.score(parsed.rows);
  if (parsed.unknownFields.length > 0) res.setHeader(UNKNOWN_FIELDS_HEADER, unknownFieldsHeader(parsed.unknownFields));
  const answer = predictAnswer(parsed, scored.predictions, scored.identity.version, () => base ?? newRequestId());
  service.record(answer.ids, createdAtOf(parsed.rows), { raw: parsed.batch ? body as unknown[] : [body] }, scored);
  setRequestIdHeader(res, answer.headerId);
  sendJsonText(res, 200, answer.body);
}

function matchesModel(service: PredictionService, params: Params): boolean {
  const id = service.identity;
  const version = params.version;
  return id !== undefined && params.name === id.name && (version === undefined || version === id.version);
}

function modelFor(service: PredictionService, params: Params) {
  const id = service.identity;
  if (!id) throw new NotReadyError();
  if (!matchesModel(service, params)) {
    const version = params.version === undefined ? '' : ` version ${params.version}`;
    throw new HttpError(404, `unknown model '${params.name}'${version}; this server serves '${id.name}' version ${id.version}`);
  }
  return id;
}

async function oipInfer(service: PredictionService, req: IncomingMessage, res: ServerResponse, params: Params, limit: number): Promise<void> {
  modelFor(service, params);
  const bytes = await readJsonBytes(req, limit);
  const done = await offThread(service, 'infer', bytes, () => headerRequestId(req) ?? newRequestId());
  if (done) {
    sendJsonText(res, 200, done.body);
    return;
  }
  const { request, parsed } = parseInferOrders(parseJsonBytes(bytes), (orders) => service.parse(orders));
  const scored = await service.score(parsed.rows);
  const id = request.id ?? headerRequestId(req) ?? newRequestId();
  service.record({ batchId: id, own: [] }, createdAtOf(parsed.rows), { raw: request.orders }, scored);
  sendJsonText(res, 200, inferAnswer(scored.identity, id, scored.predictions));
}

/** Observed delivery duration in seconds from a feedback body, or an HttpError naming the field. */
function actualSeconds(body: Record<string, unknown>, createdAt: number | undefined): number {
  if (body.actual_delivery_seconds !== undefined) {
    const v = body.actual_delivery_seconds;
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n) || n <= 0 || n > 30 * 86_400) {
      throw new HttpError(400, 'invalid feedback', [{ path: 'actual_delivery_seconds', message: `expected seconds > 0 and at most 30 days, got ${describeValue(v)}` }]);
    }
    return n;
  }
  if (body.actual_delivery_time !== undefined) {
    const v = body.actual_delivery_time;
    const t = typeof v === 'string' ? parseTimestampUtc(v) : NaN;
    if (!Number.isFinite(t)) throw new HttpError(400, 'invalid feedback', [{ path: 'actual_delivery_time', message: `expected a UTC timestamp "YYYY-MM-DD HH:MM:SS" or ISO-8601, got ${describeValue(v)}` }]);
    if (createdAt === undefined || !Number.isFinite(createdAt)) {
      throw new HttpError(404, 'this server does not remember the order of that request id; send actual_delivery_seconds instead', [{ path: 'request_id', message: 'unknown to this server' }]);
    }
    const seconds = t - createdAt;
    if (!(seconds > 0) || seconds > 30 * 86_400) {
      throw new HttpError(400, 'invalid feedback', [{ path: 'actual_delivery_time', message: `must be after the order's created_at and within 30 days, got ${describeValue(v)}` }]);
    }
    return seconds;
  }
  throw new HttpError(400, 'invalid feedback', [{ path: 'actual_delivery_seconds', message: 'required (or actual_delivery_time)' }]);
}

async function feedback(service: PredictionService, req: IncomingMessage, res: ServerResponse, limit: number): Promise<void> {
  const body = await readJsonBody(req, limit);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid feedback', [{ path: '', message: `expected {"request_id", "actual_delivery_seconds"}, got ${describeValue(body)}` }]);
  }
  const b = body as Record<string, unknown>;
  const rid = b.request_id;
  if ((typeof rid !== 'string' || rid === '') && typeof rid !== 'number') {
    throw new HttpError(400, 'invalid feedback', [{ path: 'request_id', message: `required: the request_id a prediction answered with, got ${describeValue(rid)}` }]);
  }
  const requestId = String(rid);
  const remembered = service.recent.get(requestId);
  const seconds = actualSeconds(b, remembered?.createdAt);
  const store = service.options.feedbackStore;
  if (!remembered && !store) throw new HttpError(404, `unknown request_id '${requestId}': this server has no prediction with that id`, [{ path: 'request_id', message: 'unknown' }]);
  if (store) {
    try {
      await store.recordFeedback({ requestId, actualSeconds: seconds });
    } catch (err) {
      const name = (err as Error)?.name ?? '';
      if (/Registry|Invalid|Unknown/.test(name)) throw new HttpError(404, `feedback not stored: ${(err as Error).message}`, [{ path: 'request_id', message: (err as Error).message }]);
      throw new HttpError(503, 'feedback could not be stored right now (database unavailable); retry later', [], { 'Retry-After': '5' });
    }
  }
  let error: number | null = null;
  if (remembered) {
    service.accuracy.add(remembered.prediction, seconds);
    error = remembered.prediction - seconds;
  }
  sendJson(res, 200, { request_id: requestId, actual_delivery_seconds: seconds, prediction_error_seconds: error, stored: store !== undefined });
}

async function adminReload(service: PredictionService, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const token = service.options.adminToken;
  if (token !== undefined) {
    if (req.headers.authorization !== `Bearer ${token}`) throw new HttpError(401, 'admin endpoints need Authorization: Bearer <ETAOPS_ADMIN_TOKEN>');
  } else if (!isLoopback(clientOf(req))) {
    throw new HttpError(403, 'admin endpoints answer loopback clients only unless ETAOPS_ADMIN_TOKEN is set');
  }
  req.resume();
  if (!service.reloadHandler) throw new HttpError(501, 'this server was started without a reloadable model source');
  const before = service.identity;
  try {
    const after = await service.reloadHandler();
    sendJson(res, 200, { reloaded: true, previous: before ?? null, current: after });
  } catch (err) {
    throw new HttpError(502, `reload failed, still serving ${before ? `${before.name} v${before.version}` : 'nothing'}: ${(err as Error)?.message ?? String(err)}`);
  }
}
