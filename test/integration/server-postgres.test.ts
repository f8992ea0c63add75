/**
 * The prediction server against a real Postgres registry: payload log rows land in
 * prediction_log, feedback lands in feedback, a new Production version is picked up by
 * polling, and a database outage degrades logging (dropped / pending counted) but never
 * predictions; after the restart logging resumes.
 *
 * Needs ETAOPS_TEST_PG_URL and ETAOPS_TEST_PG_CTL + ETAOPS_TEST_PG_DATA (set by `make test`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import pg from 'pg';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PredictionLogWriter, Registry } from '../../src/registry/index.js';
import { putModelDir } from '../../src/storage/index.js';
import { registrySource } from '../../src/server/model-source.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { EXAMPLE_ORDER } from '../../src/server/order-input.js';
import { SAMPLE_MISSING, trainedModelDir } from '../unit/server-fixtures.js';

const PG_URL = process.env.ETAOPS_TEST_PG_URL;
const PG_CTL = process.env.ETAOPS_TEST_PG_CTL;
const PG_DATA = process.env.ETAOPS_TEST_PG_DATA;
const SCHEMA = 'etaops_server_it';
const MODEL = 'server-it';
const modelDirPromise = trainedModelDir();
const skip = !PG_URL ? 'ETAOPS_TEST_PG_URL is not set (make test starts Postgres)' : modelDirPromise === undefined ? SAMPLE_MISSING : false;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function predict(base: string, requestId: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...EXAMPLE_ORDER, request_id: requestId }) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

describe('prediction server with a Postgres registry', { skip }, () => {
  let registry: Registry;
  let log: PredictionLogWriter;
  let server: RunningServer;
  let work: string;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'etaops-server-pg-'));
    const modelDir = await (modelDirPromise as Promise<string>);
    // A schema of our own, fresh each run, so other test files' rows never meet ours.
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await client.end();
    registry = await Registry.open(PG_URL as string, { schema: SCHEMA });
    const artifactUri = pathToFileURL(path.join(work, 'artifacts', 'v1')).href;
    const manifest = await putModelDir(artifactUri, modelDir);
    const v = await registry.registerVersion({ model: MODEL, artifactUri, sha256: manifest.sha256, metrics: { rmse: 1 }, who: 'test' });
    await registry.transitionStage(MODEL, v.version, 'Production', { who: 'test', why: 'server integration test' });
    log = new PredictionLogWriter(registry.db, { flushIntervalMs: 20, batchSize: 50, maxBuffered: 30, retryBaseMs: 50, retryMaxMs: 200 });
    server = await startServer({ source: registrySource(registry, MODEL), port: 0, predictionLog: log, feedbackStore: registry, pollIntervalMs: 200, log: () => undefined });
  });

  after(async () => {
    await server?.close();
    await registry?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('predictions are logged to prediction_log without the request waiting for it', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await predict(server.url, `pg-log-${i}`)).status, 200);
    await waitFor('5 logged rows', async () => {
      const r = await registry.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM prediction_log WHERE request_id LIKE 'pg-log-%'`);
      return r.rows[0].n === 5;
    });
    const row = (await registry.db.query<{ model: string; version: number; features: Record<string, unknown>; prediction: number }>(
      `SELECT model, version, features, prediction FROM prediction_log WHERE request_id = 'pg-log-0'`)).rows[0];
    assert.equal(row.model, MODEL);
    assert.equal(row.version, 1);
    assert.equal(row.features.subtotal, EXAMPLE_ORDER.subtotal);
    assert.ok(row.prediction > 0);
    assert.ok((await metric(server.url, 'etaops_prediction_log_written_total')) >= 5);
  });

  test('a large batch answered by a batch worker is logged row by row, each order as it was sent', async () => {
    await waitFor('a ready batch worker', async () => (await metric(server.url, 'etaops_batch_workers_ready')) > 0);
    const before = await metric(server.url, 'etaops_batch_worker_requests_total');
    // 20 orders (the writer buffers 30) padded with an unknown field past the 32 KiB that go to a worker.
    const orders: Record<string, unknown>[] = Array.from({ length: 20 }, (_, i) => ({ ...EXAMPLE_ORDER, subtotal: 1000 + i, note: `é${'x'.repeat(2000)}` }));
    orders[4] = { ...orders[4], request_id: 'pg-big-own' };
    const r = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'pg-big' }, body: JSON.stringify(orders) });
    const answers = (await r.json()) as { request_id: string; prediction: number }[];
    assert.equal(r.status, 200, JSON.stringify(answers).slice(0, 300));
    assert.equal(await metric(server.url, 'etaops_batch_worker_requests_total'), before + 1);
    await waitFor('20 logged rows', async () => {
      const n = await registry.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM prediction_log WHERE request_id LIKE 'pg-big%'`);
      return n.rows[0].n === 20;
    });
    const rows = (await registry.db.query<{ request_id: string; features: Record<string, unknown>; prediction: number }>(
      `SELECT request_id, features, prediction FROM prediction_log WHERE request_id LIKE 'pg-big%'`)).rows;
    const byId = new Map(rows.map((row) => [row.request_id, row]));
    for (const [i, answer] of answers.entries()) {
      const row = byId.get(answer.request_id);
      assert.ok(row, `row ${i} logged as ${answer.request_id}`);
      assert.deepEqual(row.features, orders[i]);
      assert.ok(Math.abs(row.prediction - answer.prediction) < 1e-9);
    }
    assert.equal(answers[4].request_id, 'pg-big-own');
    assert.equal(answers[5].request_id, 'pg-big:5');
  });

  test('feedback is stored in the registry and joins the logged prediction', async () => {
    const p = await predict(server.url, 'pg-fb-1');
    await waitFor('the logged row', async () => (await registry.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM prediction_log WHERE request_id = 'pg-fb-1'`)).rows[0].n === 1);
    const f = await fetch(`${server.url}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request_id: 'pg-fb-1', actual_delivery_seconds: (p.body.prediction as number) + 60 }) });
    assert.equal(f.status, 200);
    const acc = await registry.liveAccuracy(MODEL, { windowSeconds: 3600 });
    assert.equal(acc.count, 1);
    assert.ok(Math.abs((acc.mae as number) - 60) < 1e-6);
  });

  test('a newly promoted Production version is picked up by polling', async () => {
    const current = await registry.getProduction(MODEL);
    const v2 = await registry.registerVersion({ model: MODEL, artifactUri: current!.artifactUri, sha256: current!.sha256, metrics: { rmse: 1 }, who: 'test' });
    await registry.transitionStage(MODEL, v2.version, 'Production', { who: 'test', why: 'promote v2' });
    await waitFor('the server to serve v2', async () => (await predict(server.url, `pg-v2-${Date.now()}`)).body.model_version === String(v2.version));
  });

  test('Postgres stopped: predictions keep answering 200, drops and pending are counted; restarted: logging resumes', { skip: !PG_CTL || !PG_DATA ? 'ETAOPS_TEST_PG_CTL / ETAOPS_TEST_PG_DATA not set' : false }, async () => {
    const ctl = `${PG_CTL} -D "${PG_DATA}"`;
    const droppedBefore = await metric(server.url, 'etaops_prediction_log_dropped_total');
    execSync(`${ctl} stop -m fast`, { stdio: 'ignore' });
    try {
      for (let i = 0; i < 60; i++) {
        const r = await predict(server.url, `pg-down-${i}`);
        assert.equal(r.status, 200, `prediction ${i} answered during the outage`);
        assert.equal(typeof r.body.prediction, 'number');
      }
      const pending = await metric(server.url, 'etaops_prediction_log_pending');
      const dropped = await metric(server.url, 'etaops_prediction_log_dropped_total');
      assert.ok(pending > 0, `rows wait while the database is down: pending ${pending}`);
      assert.ok(dropped > droppedBefore, `beyond the buffer rows are dropped and counted: ${droppedBefore} → ${dropped}`);
    } finally {
      execSync(`${ctl} start`, { stdio: 'ignore' });
    }
    assert.equal((await predict(server.url, 'pg-after-restart')).status, 200);
    await waitFor('logging to resume after the restart', async () => {
      try {
        const r = await registry.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM prediction_log WHERE request_id = 'pg-after-restart'`);
        return r.rows[0].n === 1;
      } catch {
        return false;
      }
    }, 30_000);
    assert.equal(await metric(server.url, 'etaops_prediction_log_pending'), 0);
  });
});
