/**
 * Batch worker threads (src/server/batch-pool.ts): large /predict bodies are answered off the
 * event loop exactly as the event loop answers them, errors included; workers that cannot start
 * leave scoring on the event loop. Two real servers on the same model, one with workers and one
 * without, are compared byte for byte.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { modelDirSource, type ModelSource } from '../../src/server/model-source.js';
import { BatchWorkerPool, OFF_THREAD_MIN_BYTES } from '../../src/server/batch-pool.js';
import { readModelDir } from '../../src/ml/model/meta.js';
import { parseOrders } from '../../src/server/order-input.js';
import { INPUT_TENSORS } from '../../src/server/oip.js';
import { SAMPLE_MISSING, sampleRows, trainedModelDir } from './server-fixtures.js';

const modelDirPromise = trainedModelDir();
const skip = modelDirPromise === undefined ? SAMPLE_MISSING : false;

interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

async function post(base: string, body: string, headers: Record<string, string> = {}, route = '/predict'): Promise<Reply> {
  const r = await fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

/** The same orders as an Open Inference Protocol request: one tensor per field. */
function inferBody(orders: Record<string, unknown>[], id?: string): string {
  const inputs = INPUT_TENSORS.map((t) => ({
    name: t.name,
    datatype: t.datatype,
    shape: [orders.length],
    data: orders.map((o) => (o[t.name] === undefined ? null : t.datatype === 'BYTES' ? String(o[t.name]) : Number(o[t.name]))),
  }));
  return JSON.stringify(id === undefined ? { inputs } : { id, inputs });
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line.split(' ').pop());
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sample orders the server accepts, some with ids of their own and one with an unknown field. */
function bigBatch(count: number): Record<string, unknown>[] {
  const orders = sampleRows(count * 2).rows
    .map((r) => r.order as Record<string, unknown>)
    .filter((o) => { try { parseOrders(o); return true; } catch { return false; } })
    .slice(0, count);
  assert.equal(orders.length, count, 'enough clean sample rows');
  orders[3] = { ...orders[3], request_id: 'own-3' };
  orders[7] = { ...orders[7], request_id: 42 };
  orders[9] = { ...orders[9], coupon_code: 'SPRING' };
  return orders;
}

describe('batch workers', { skip }, () => {
  let withWorkers: RunningServer;
  let onLoop: RunningServer;

  before(async () => {
    const dir = await (modelDirPromise as Promise<string>);
    [withWorkers, onLoop] = await Promise.all([
      startServer({ source: modelDirSource(dir), port: 0, batchWorkers: 2, log: () => undefined }),
      startServer({ source: modelDirSource(dir), port: 0, batchWorkers: 0, log: () => undefined }),
    ]);
    await waitFor('two ready batch workers', async () => (await metric(withWorkers.url, 'etaops_batch_workers_ready')) === 2);
  });
  after(async () => { await Promise.all([withWorkers?.close(), onLoop?.close()]); });

  test('a large batch is answered by a worker byte for byte as the event loop answers it', async () => {
    const body = JSON.stringify(bigBatch(300));
    assert.ok(Buffer.byteLength(body) >= OFF_THREAD_MIN_BYTES, `the body (${body.length} bytes) is large enough to go to a worker`);
    const before = await metric(withWorkers.url, 'etaops_batch_worker_requests_total');
    const rowsBefore = await metric(withWorkers.url, 'etaops_rows_scored_total');
    const [a, b] = await Promise.all([withWorkers, onLoop].map((s) => post(s.url, body, { 'x-request-id': 'big-1' })));
    assert.equal(a.status, 200, a.text);
    assert.equal(a.text, b.text);
    for (const h of ['x-request-id', 'x-etaops-unknown-fields', 'content-type']) assert.equal(a.headers.get(h), b.headers.get(h), h);
    assert.equal(a.headers.get('x-etaops-unknown-fields'), '[9].coupon_code');
    const answers = JSON.parse(a.text) as { request_id: string; prediction: number }[];
    assert.deepEqual([answers[0].request_id, answers[3].request_id, answers[7].request_id, answers[299].request_id], ['big-1:0', 'own-3', '42', 'big-1:299']);
    assert.equal(await metric(withWorkers.url, 'etaops_batch_worker_requests_total'), before + 1);
    assert.equal(await metric(onLoop.url, 'etaops_batch_worker_requests_total'), 0);
    assert.equal(await metric(withWorkers.url, 'etaops_rows_scored_total'), rowsBefore + 300);
    assert.equal(await metric(withWorkers.url, 'etaops_input_unknown_fields_total'), await metric(onLoop.url, 'etaops_input_unknown_fields_total'));

    // The rows are remembered on the event loop: feedback finds them, by batch index and by own id.
    for (const id of ['big-1:5', 'own-3', '42']) {
      const r = await fetch(`${withWorkers.url}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request_id: id, actual_delivery_seconds: 2000 }) });
      const fb = await r.json() as { prediction_error_seconds: number };
      assert.equal(r.status, 200, JSON.stringify(fb));
      const row = answers.find((x) => x.request_id === id) ?? answers[5];
      assert.equal(fb.prediction_error_seconds, row.prediction - 2000, id);
    }
  });

  test('an order gets the same number alone, in a small batch on the event loop, and in a large batch on a worker', async () => {
    const orders = bigBatch(300);
    const inWorker = JSON.parse((await post(withWorkers.url, JSON.stringify(orders))).text) as { prediction: number }[];
    const small = JSON.parse((await post(withWorkers.url, JSON.stringify(orders.slice(0, 9)))).text) as { prediction: number }[];
    // One order per request, 40 in flight at once: the event loop merges them into runs of several rows.
    const alone = await Promise.all(orders.slice(0, 40).map(async (o) => (JSON.parse((await post(withWorkers.url, JSON.stringify(o))).text) as { prediction: number }).prediction));
    assert.deepEqual(small.map((a) => a.prediction), inWorker.slice(0, 9).map((a) => a.prediction));
    assert.deepEqual(alone, inWorker.slice(0, 40).map((a) => a.prediction));
  });

  test('a large Open Inference Protocol request is answered by a worker as the event loop answers it, errors included', async () => {
    // Tensors are compact (no keys per row): 800 orders to pass the 32 KiB that go to a worker.
    const orders = bigBatch(800);
    const route = '/v2/models/delivery-eta/infer';
    const before = await metric(withWorkers.url, 'etaops_batch_worker_requests_total');
    for (const [body, status] of [[inferBody(orders, 'infer-1'), 200], [inferBody(orders), 200]] as const) {
      assert.ok(body.length >= OFF_THREAD_MIN_BYTES);
      const [a, b] = await Promise.all([withWorkers, onLoop].map((srv) => post(srv.url, body, { 'x-request-id': 'infer-header' }, route)));
      assert.equal(a.status, status, a.text);
      assert.equal(a.text, b.text);
    }
    const answer = JSON.parse((await post(withWorkers.url, inferBody(orders, 'infer-2'), {}, route)).text) as { id: string; outputs: { data: number[] }[] };
    assert.equal(answer.id, 'infer-2');
    assert.equal(answer.outputs[0].data.length, 800);
    const bad = orders.map((o, i) => (i === 250 ? { ...o, subtotal: -5 } : o));
    const [a, b] = await Promise.all([withWorkers, onLoop].map((srv) => post(srv.url, inferBody(bad), {}, route)));
    assert.equal(a.status, 400, a.text);
    assert.equal(a.text, b.text);
    assert.deepEqual((JSON.parse(a.text) as { details: { field: string }[] }).details.map((d) => d.field), ['inputs[name=subtotal].data[250]']);
    assert.equal(await metric(withWorkers.url, 'etaops_batch_worker_requests_total'), before + 4);
    // The rows are remembered under the request's id: feedback finds them.
    const fb = await fetch(`${withWorkers.url}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request_id: 'infer-2:7', actual_delivery_seconds: 2000 }) });
    assert.equal(fb.status, 200, await fb.text());
  });

  test('concurrent large batches all get their own answers', async () => {
    const orders = bigBatch(200);
    const bodies = Array.from({ length: 12 }, (_, k) => JSON.stringify(orders.map((o, i) => (i === 0 ? { ...o, request_id: `first-of-${k}` } : o))));
    const expected = await post(onLoop.url, bodies[0]);
    const replies = await Promise.all(bodies.map((b) => post(withWorkers.url, b)));
    for (const [k, r] of replies.entries()) {
      assert.equal(r.status, 200, r.text);
      const answers = JSON.parse(r.text) as { request_id: string; prediction: number }[];
      assert.equal(answers[0].request_id, `first-of-${k}`);
      assert.deepEqual(answers.map((x) => x.prediction), (JSON.parse(expected.text) as { prediction: number }[]).map((x) => x.prediction));
    }
  });

  test('reloads while large batches flow: every request answered, the new model\'s workers take over', async () => {
    const body = JSON.stringify(bigBatch(200));
    let stop = false;
    const statuses: number[] = [];
    const clients = Array.from({ length: 4 }, async () => {
      // Bounded: at most 200 requests per client even if the reloads hang.
      for (let i = 0; i < 200 && !stop; i++) statuses.push((await post(withWorkers.url, body)).status);
    });
    await new Promise((r) => setTimeout(r, 200));
    await withWorkers.reload();
    await new Promise((r) => setTimeout(r, 300));
    await withWorkers.reload();
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(clients);
    assert.ok(statuses.length > 8, `requests kept flowing: ${statuses.length}`);
    assert.deepEqual(statuses.filter((st) => st !== 200), []);
    await waitFor('two ready batch workers of the new model', async () => (await metric(withWorkers.url, 'etaops_batch_workers_ready')) === 2);
    const before = await metric(withWorkers.url, 'etaops_batch_worker_requests_total');
    assert.equal((await post(withWorkers.url, body)).status, 200);
    assert.equal(await metric(withWorkers.url, 'etaops_batch_worker_requests_total'), before + 1);
  });

  test('a large body that is not JSON, or holds bad orders, gets the same 400 from a worker as from the event loop', async () => {
    const orders = bigBatch(300);
    orders[250] = { ...orders[250], subtotal: 'abc' };
    delete orders[251].created_at;
    const valid = JSON.stringify(bigBatch(300));
    const bodies = [JSON.stringify(orders), `${valid.slice(0, -1)},}`, `${' '.repeat(OFF_THREAD_MIN_BYTES)}`];
    const before = await metric(withWorkers.url, 'etaops_batch_worker_requests_total');
    for (const body of bodies) {
      const [a, b] = await Promise.all([withWorkers, onLoop].map((s) => post(s.url, body)));
      assert.equal(a.status, 400, a.text);
      assert.equal(a.text, b.text);
    }
    const details = (JSON.parse((await post(withWorkers.url, bodies[0])).text) as { details: { field: string }[] }).details.map((d) => d.field);
    assert.deepEqual(details, ['[250].subtotal', '[251].created_at']);
    assert.equal(await metric(withWorkers.url, 'etaops_batch_worker_requests_total'), before + bodies.length + 1);
    // Small bodies never leave the event loop.
    assert.equal((await post(withWorkers.url, JSON.stringify(orders.slice(0, 2)))).status, 200);
    assert.equal(await metric(withWorkers.url, 'etaops_batch_worker_requests_total'), before + bodies.length + 1);
  });
});

describe('batch workers that cannot start', { skip }, () => {
  test('leave large batches to the event loop, and the log says why once', async () => {
    const dir = await (modelDirPromise as Promise<string>);
    const good = modelDirSource(dir);
    // The served predictor is sound; the bytes handed to the workers are not a model.
    const broken: ModelSource = {
      description: 'a model whose worker copy is corrupt',
      async load() {
        const loaded = await good.load();
        return { ...loaded, files: { onnx: Buffer.from('not an onnx model'), meta: loaded.files!.meta } };
      },
    };
    const lines: string[] = [];
    const server = await startServer({ source: broken, port: 0, batchWorkers: 1, log: (l) => lines.push(l) });
    try {
      await waitFor('the pool to give up', async () => lines.some((l) => /batch workers cannot start/.test(l)));
      assert.match(lines.find((l) => /batch workers cannot start/.test(l)) ?? '', /sha256|model\.onnx/);
      assert.equal(lines.filter((l) => /batch workers cannot start/.test(l)).length, 1);
      const r = await post(server.url, JSON.stringify(bigBatch(300)));
      assert.equal(r.status, 200, r.text);
      assert.equal((JSON.parse(r.text) as unknown[]).length, 300);
      assert.equal(await metric(server.url, 'etaops_batch_worker_requests_total'), 0);
      assert.equal(await metric(server.url, 'etaops_batch_workers_ready'), 0);
    } finally {
      await server.close();
    }
  });
});

describe('batch workers at shutdown', { skip }, () => {
  test('workers stopped while they load the model, or once ready, end on their own rather than being killed inside onnxruntime', async () => {
    const files = await readModelDir(await (modelDirPromise as Promise<string>));
    // Terminating a worker inside onnxruntime aborted the whole process ("terminate called after
    // throwing an instance of 'Napi::Error'"); a worker killed by terminate() exits with code 1.
    const pool = () => new BatchWorkerPool({ size: 2, files, name: 'delivery-eta', version: 'local', limits: { maxBatchRows: 10_000 }, log: () => undefined });
    for (const delay of [0, 30, 80]) {
      const loading = pool();
      await new Promise((r) => setTimeout(r, delay));
      assert.deepEqual(await loading.close(), [0, 0], `closed ${delay} ms after start`);
    }
    const ready = pool();
    await waitFor('ready workers', async () => ready.readyWorkers === 2);
    assert.deepEqual(await ready.close(), [0, 0]);
    assert.equal(ready.submit('predict', new Uint8Array(OFF_THREAD_MIN_BYTES), 'x', false), undefined, 'a closed pool takes nothing');
  });
});
