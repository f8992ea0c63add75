/**
 * Fuzz of the prediction server's write endpoints against a real model (trained on the DoorDash
 * sample, served by onnxruntime): thousands of generated bodies for POST /predict (single and
 * batch), POST /v2/models/{name}/infer and POST /feedback, plus raw byte garbage, wrong content
 * types and huge or deeply nested JSON. Every answer must be a JSON body with a status below
 * 500, the server must stay up, and the heap must stay flat.
 *
 * Memory: the server runs in this process so the test can measure its heap. `gc` is taken from
 * V8 at run time (`--expose-gc` set through node:v8, then read from a fresh context), so the
 * check works under a plain `node --test` as `make test` runs it. The body mix is run three
 * times with the same generators and different seeds: round 1 warms up (JIT, metric children,
 * caches), and the heap used after a full GC at the end of round 2 and of round 3 are compared.
 * A leak of even a few hundred bytes per request shows as megabytes over a round; what is
 * allowed to grow between them (recent-prediction memory for feedback, one entry per scored
 * request, bounded at 200k entries) is far under the bound.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { modelDirSource } from '../../src/server/model-source.js';
import { EXAMPLE_ORDER } from '../../src/server/order-input.js';
import { INPUT_TENSORS } from '../../src/server/oip.js';
import { SAMPLE_MISSING, trainedModelDir } from './server-fixtures.js';

const modelDirPromise = trainedModelDir();
const skip = modelDirPromise === undefined ? SAMPLE_MISSING : false;
const MODEL = 'delivery-eta';

/** Bodies per round and kind; three rounds (warm-up, A, B) make the total. */
const PER_KIND = 500;
/** Allowed heap growth (after GC) from the end of round A to the end of round B. */
const HEAP_GROWTH_BOUND = 4 * 1024 * 1024;

interface Reply {
  status: number;
  contentType: string;
  text: string;
}

/** One generated request: where it goes and the exact bytes and headers it carries. */
interface Probe {
  path: string;
  body: Buffer;
  headers: Record<string, string>;
  /** Statuses this kind of request may legitimately answer. */
  allowed: number[];
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/**
 * Sends a probe; resolves with the answer. A server that answers early (413) may close the
 * connection while the body is still being written: the answer is what counts then.
 */
function send(base: string, probe: Probe): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(`${base}${probe.path}`, { method: 'POST', headers: { ...probe.headers, 'content-length': String(probe.body.length) }, agent }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (err) => { if (!answered) reject(err); });
    req.end(probe.body);
  });
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const json = (path: string, value: unknown, allowed: number[]): Probe => ({ path, body: Buffer.from(JSON.stringify(value) ?? 'null'), headers: JSON_HEADERS, allowed });

// ---- generators --------------------------------------------------------------------------

/** Values a client might put in any field: every JSON type, edge numbers, tricky text. */
const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.double(),
  fc.integer(),
  fc.constantFrom(null, '', ' ', 'NaN', 'Infinity', '-0', '1e400', '0x10', '١٢٣', '\u0000', '\ud800', '2015-02-06 22:24:17', '2015-02-06T22:24:17Z', 'null', '9'.repeat(400)),
  fc.string({ unit: 'binary', maxLength: 60 }),
);
/** Field names: the real ones plus prototype-pollution and unknown keys. */
const fieldName = fc.oneof(
  fc.constantFrom(...Object.keys(EXAMPLE_ORDER), 'request_id', '__proto__', 'constructor', 'toString', 'hasOwnProperty'),
  fc.string({ maxLength: 30 }),
);
const mutatedOrder = fc.dictionary(fieldName, fieldValue, { maxKeys: 6 }).map((d) => ({ ...EXAMPLE_ORDER, ...d }));
const singleBody = fc.oneof({ weight: 4, arbitrary: mutatedOrder }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });
const batchBody = fc.array(fc.oneof({ weight: 5, arbitrary: mutatedOrder }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }), { maxLength: 40 });

/** OIP tensors: the right names with mutated envelopes and data, or arbitrary ones. */
const tensor = fc.record({
  name: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...INPUT_TENSORS.map((t) => t.name)) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) }),
  datatype: fc.oneof(fc.constantFrom('BYTES', 'FP64', 'INT64', 'FP32', 'BOOL', 'UINT8', 'FP16'), fc.jsonValue({ maxDepth: 1 })),
  shape: fc.oneof(fc.constant([1]), fc.array(fc.oneof(fc.integer({ min: -2, max: 4 }), fc.double(), fc.constant(1e12)), { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
  data: fc.oneof(fc.array(fieldValue, { maxLength: 4 }), fc.array(fc.array(fieldValue, { maxLength: 2 }), { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
}, { requiredKeys: [] });
/** A valid request (one row per tensor) with some tensors replaced or dropped. */
const validInputs = INPUT_TENSORS.map((t) => ({ name: t.name, datatype: t.datatype, shape: [1], data: [EXAMPLE_ORDER[t.name]] }));
const inferBody = fc.oneof(
  fc.record({ id: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 })), inputs: fc.array(tensor, { maxLength: 17 }), outputs: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['inputs'] }),
  fc.tuple(fc.array(fc.nat({ max: 14 }), { maxLength: 3 }), fc.array(tensor, { maxLength: 3 })).map(([drop, extra]) => ({
    inputs: [...validInputs.filter((_, i) => !drop.includes(i)), ...extra],
  })),
  fc.jsonValue({ maxDepth: 3 }),
);
/** Model path segments: the served name, others, and text that needs URL encoding. */
const modelPath = fc.oneof({ weight: 5, arbitrary: fc.constant(MODEL) }, { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent) });

const feedbackBody = fc.record({
  request_id: fc.oneof(fc.constantFrom('fuzz-known-0', 'fuzz-known-1', 'fuzz-batch:0', 'fuzz-batch:7'), fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 1 })),
  actual_delivery_seconds: fieldValue,
  actual_delivery_time: fieldValue,
}, { requiredKeys: [] });

const contentTypes = fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', 'application/jsonx', 'json', 'application/xml', 'application/json; charset=latin1', 'application/problem+json', 'APPLICATION/JSON');

/** Huge and deep bodies: near and over the 1 MiB limit, and nesting the parser must survive. */
function extremeProbes(): Probe[] {
  const near = { ...EXAMPLE_ORDER, padding: 'x'.repeat(1024 * 1024 - 600) };
  const over = { ...EXAMPLE_ORDER, padding: 'y'.repeat(1024 * 1024 + 10) };
  const deep = (open: string, close: string, n: number) => Buffer.from(open.repeat(n) + close.repeat(n));
  const probes: Probe[] = [];
  for (const path of ['/predict', `/v2/models/${MODEL}/infer`, '/feedback']) {
    probes.push(
      json(path, near, [200, 400, 404]),
      json(path, over, [413]),
      { path, body: deep('[', ']', 100_000), headers: JSON_HEADERS, allowed: [400] },
      { path, body: deep('{"a":', '}', 80_000), headers: JSON_HEADERS, allowed: [400] },
      json(path, Array.from({ length: 2500 }, () => ({ ...EXAMPLE_ORDER })), [200, 400, 404]),
    );
  }
  // Deep nesting inside a tensor's data (flattening recursion) and inside an order field.
  const deepData = `{"inputs":[{"name":"subtotal","datatype":"FP64","shape":[1],"data":${'['.repeat(100_000)}5${']'.repeat(100_000)}}]}`;
  probes.push({ path: `/v2/models/${MODEL}/infer`, body: Buffer.from(deepData), headers: JSON_HEADERS, allowed: [400] });
  const deepField = JSON.stringify({ ...EXAMPLE_ORDER, subtotal: 0 }).replace('"subtotal":0', `"subtotal":${'['.repeat(100_000)}${']'.repeat(100_000)}`);
  probes.push({ path: '/predict', body: Buffer.from(deepField), headers: JSON_HEADERS, allowed: [400] });
  probes.push({ path: '/predict', body: Buffer.from(`[${deepField}]`), headers: JSON_HEADERS, allowed: [400] });
  const deepId = JSON.stringify({ request_id: 'x', actual_delivery_seconds: 1 }).replace('"x"', `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`);
  probes.push({ path: '/feedback', body: Buffer.from(deepId), headers: JSON_HEADERS, allowed: [400] });
  return probes;
}

const PREDICT_OK = [200, 400];
const INFER_OK = [200, 400, 404];
const FEEDBACK_OK = [200, 400, 404];

/** One round's probes, deterministic for a seed. */
function roundProbes(seed: number): Probe[] {
  const sample = <T>(arb: fc.Arbitrary<T>, salt: number) => fc.sample(arb, { numRuns: PER_KIND, seed: seed * 31 + salt });
  const probes: Probe[] = [];
  for (const b of sample(singleBody, 1)) probes.push(json('/predict', b, PREDICT_OK));
  for (const b of sample(batchBody, 2)) probes.push(json('/predict', b, PREDICT_OK));
  const infer = sample(fc.tuple(modelPath, inferBody, fc.boolean()), 3);
  for (const [name, b, versioned] of infer) probes.push(json(`/v2/models/${name}${versioned ? '/versions/local' : ''}/infer`, b, INFER_OK));
  for (const b of sample(feedbackBody, 4)) probes.push(json('/feedback', b, FEEDBACK_OK));
  const paths = ['/predict', `/v2/models/${MODEL}/infer`, '/feedback'];
  // Raw bytes labelled as JSON: garbage, invalid UTF-8, JSON with a BOM or a NUL in it.
  for (const [i, bytes] of sample(fc.uint8Array({ maxLength: 300 }), 5).entries()) {
    probes.push({ path: paths[i % 3], body: Buffer.from(bytes), headers: JSON_HEADERS, allowed: [400] });
  }
  for (const [i, [prefix, cut]] of sample(fc.tuple(fc.constantFrom('\ufeff', '\u0000', ' \n\t', ''), fc.nat({ max: 200 })), 6).entries()) {
    const text = JSON.stringify(i % 2 ? EXAMPLE_ORDER : [EXAMPLE_ORDER, EXAMPLE_ORDER]);
    probes.push({ path: paths[i % 3], body: Buffer.from(prefix + text.slice(0, cut)), headers: JSON_HEADERS, allowed: [200, 400, 404] });
  }
  // Wrong or missing content types with a well-formed body.
  for (const [i, type] of sample(contentTypes, 7).entries()) {
    const headers: Record<string, string> = type === '' ? {} : { 'content-type': type };
    const isJson = /^application\/(json|[a-z.-]+\+json)(;|$)/i.test(type);
    probes.push({ path: paths[i % 3], body: Buffer.from(JSON.stringify(EXAMPLE_ORDER)), headers, allowed: isJson ? [200, 400, 404] : [415] });
  }
  return probes;
}

/** Sends probes with a few concurrent clients; returns the problems found (empty = all good). */
async function runProbes(base: string, probes: Probe[], concurrency = 4): Promise<string[]> {
  const problems: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < probes.length) {
      const p = probes[next++];
      const shown = `${p.path} ${JSON.stringify(p.headers)} ${p.body.subarray(0, 160).toString('utf8')}${p.body.length > 160 ? `... (${p.body.length} bytes)` : ''}`;
      let r: Reply;
      try {
        r = await send(base, p);
      } catch (err) {
        problems.push(`no answer (${(err as Error).message}) for ${shown}`);
        continue;
      }
      let parsed: unknown;
      try { parsed = JSON.parse(r.text); } catch { parsed = undefined; }
      if (r.status >= 500) problems.push(`${r.status} ${r.text.slice(0, 200)} for ${shown}`);
      else if (!p.allowed.includes(r.status)) problems.push(`unexpected ${r.status} (allowed ${p.allowed}) ${r.text.slice(0, 200)} for ${shown}`);
      if (parsed === undefined || !/^application\/json/.test(r.contentType)) problems.push(`not a JSON answer (${r.contentType}): ${r.text.slice(0, 100)} for ${shown}`);
      else if (r.status >= 400 && typeof (parsed as { error?: unknown }).error !== 'string') problems.push(`error answer without "error": ${r.text.slice(0, 200)} for ${shown}`);
      if (problems.length > 20) return;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return problems;
}

/** `gc()` without --expose-gc on the command line. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function heapAfterGc(gc: () => void): Promise<number> {
  // Twice, with a turn of the event loop between: finalizers and closed sockets settle.
  gc();
  await new Promise((r) => setTimeout(r, 50));
  gc();
  return process.memoryUsage().heapUsed;
}

describe('prediction server fuzz', { skip }, () => {
  let server: RunningServer;
  let base: string;

  before(async () => {
    server = await startServer({ source: modelDirSource(await (modelDirPromise as Promise<string>)), port: 0, log: () => undefined });
    base = server.url;
    // A few remembered predictions so feedback fuzz also reaches the scoring path.
    for (const [i, body] of [{ ...EXAMPLE_ORDER, request_id: 'fuzz-known-0' }, { ...EXAMPLE_ORDER, request_id: 'fuzz-known-1' }].entries()) {
      assert.equal((await send(base, json('/predict', body, [200]))).status, 200, `seed prediction ${i}`);
    }
    assert.equal((await send(base, { ...json('/predict', [EXAMPLE_ORDER, EXAMPLE_ORDER], [200]), headers: { ...JSON_HEADERS, 'x-request-id': 'fuzz-batch' } })).status, 200);
  });
  after(async () => {
    await server?.close();
    agent.destroy();
  });

  test('huge, deep and over-limit bodies get a 4xx JSON answer', async () => {
    const problems = await runProbes(base, extremeProbes(), 2);
    assert.deepEqual(problems, []);
  });

  test('thousands of generated bodies: never 5xx, always JSON, server up, heap flat', async () => {
    const gc = exposeGc();
    let sent = 0;
    const statuses = new Map<number, number>();
    const countingRun = async (seed: number) => {
      const probes = roundProbes(seed);
      sent += probes.length;
      const problems = await runProbes(base, probes);
      assert.deepEqual(problems, [], `round with seed ${seed}`);
    };
    await countingRun(1);
    const heapA0 = await heapAfterGc(gc);
    await countingRun(2);
    const heapA = await heapAfterGc(gc);
    await countingRun(3);
    const heapB = await heapAfterGc(gc);
    // The metrics say what the server answered (and prove the fuzz reached scoring).
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const m of metrics.matchAll(/etaops_http_requests_total\{route="[^"]+",method="POST",status="(\d+)"\} (\d+)/g)) {
      statuses.set(Number(m[1]), (statuses.get(Number(m[1])) ?? 0) + Number(m[2]));
    }
    const mib = (n: number) => (n / 1048576).toFixed(2);
    process.stderr.write(`fuzz: ${sent} bodies; POST answers by status ${JSON.stringify([...statuses].sort())}; heap after GC: warm-up ${mib(heapA0)} MiB, round A ${mib(heapA)} MiB, round B ${mib(heapB)} MiB\n`);
    assert.ok(sent >= 3000, `thousands of bodies: ${sent}`);
    assert.ok((statuses.get(200) ?? 0) >= 100, 'a share of the bodies was valid and scored');
    assert.ok((statuses.get(400) ?? 0) >= 1000, 'most were refused with 400');
    assert.ok(![...statuses.keys()].some((s) => s >= 500), `no 5xx in the server's own count: ${JSON.stringify([...statuses])}`);
    assert.ok(heapB - heapA < HEAP_GROWTH_BOUND, `heap after GC grew ${mib(heapB - heapA)} MiB over one round of ${sent / 3} bodies (bound ${mib(HEAP_GROWTH_BOUND)} MiB)`);
    const live = await fetch(`${base}/v2/health/ready`);
    assert.equal(live.status, 200, 'the server is still up and ready');
  });
});
