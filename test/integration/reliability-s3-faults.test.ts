/**
 * The s3:// artifact store and model loading under S3 faults: a fault-injecting proxy
 * (reliability-s3-proxy.ts, 127.0.0.1) sits in front of the real S3 server that `make test`
 * starts, and answers 500/503, slow headers or a slow body, resets connections before the
 * answer or mid-body, and cuts or damages bodies on demand.
 *
 * What must hold: transient failures are retried (the AWS SDK retries status codes and
 * connection errors, the store retries a download whose body broke off), permanent ones fail
 * with an error naming the URI, and no truncated or corrupt artifact is ever returned, written
 * under its real name, or served: `etaops serve --model-uri` refuses to become ready and a
 * reload keeps the model it has.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ArtifactAccessDeniedError, ArtifactError, ArtifactNotFoundError, ChecksumMismatchError, getModelDir, openArtifactStore,
  putModelDir, type ArtifactStore,
} from '../../src/storage/index.js';
import { modelUriSource } from '../../src/server/model-source.js';
import { startServer } from '../../src/server/server.js';
import { EXAMPLE_ORDER } from '../../src/server/order-input.js';
import { SAMPLE_MISSING, trainedModelDir } from '../unit/server-fixtures.js';
import { FaultProxy } from './reliability-s3-proxy.js';

const endpoint = process.env.ETAOPS_TEST_S3_ENDPOINT;
const bucket = process.env.ETAOPS_TEST_S3_BUCKET || 'etaops-test';
const modelDirPromise = trainedModelDir();
const skip = !endpoint ? 'ETAOPS_TEST_S3_ENDPOINT is not set: run under hack/with-test-env.sh (make test) to start the S3 server'
  : modelDirPromise === undefined ? SAMPLE_MISSING : false;
const CLI = path.resolve('dist/src/cli/main.js');
const prefix = `reliability-s3-${Date.now()}-${randomBytes(3).toString('hex')}`;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const keyPath = (key: string) => new RegExp(`^/${bucket}/${prefix}/${key.replace(/[.]/g, '\\.')}(\\?|$)`);

describe('S3 faults between the artifact store and a real S3 server', { skip }, () => {
  let proxy: FaultProxy;
  /** The store through the proxy, and one straight to the server (to check what is stored). */
  let faulty: ArtifactStore;
  let direct: ArtifactStore;
  let work: string;
  let modelDir: string;

  before(async () => {
    proxy = await new FaultProxy(endpoint as string).start();
    faulty = openArtifactStore(`s3://${bucket}/${prefix}`, { endpoint: proxy.url });
    direct = openArtifactStore(`s3://${bucket}/${prefix}`, { endpoint });
    work = await mkdtemp(path.join(tmpdir(), 'etaops-s3-faults-'));
    modelDir = await (modelDirPromise as Promise<string>);
    await putModelDir(`s3://${bucket}/${prefix}/good`, modelDir, { endpoint });
  });
  after(async () => {
    if (direct) for (const o of await direct.list()) await direct.delete(o.key);
    await proxy?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('GET answered 503 then 500 is retried; the verified bytes come back', async () => {
    const bytes = randomBytes(50_000);
    const put = await direct.put('retry/blob.bin', bytes);
    proxy.clear();
    proxy.inject({ method: 'GET', path: keyPath('retry/blob.bin'), fault: { kind: 'status', status: 503, code: 'SlowDown' } });
    proxy.inject({ method: 'GET', path: keyPath('retry/blob.bin'), fault: { kind: 'status', status: 500, code: 'InternalError' } });
    assert.deepEqual(await faulty.get('retry/blob.bin', { expectedSha256: put.sha256 }), bytes);
    assert.equal(proxy.count('GET', keyPath('retry/blob.bin')), 3, 'two failed attempts and one good one');
  });

  test('a server that keeps answering 500 fails after a bounded number of attempts, naming the URI and status', async () => {
    await direct.put('down/blob.bin', Buffer.from('x'));
    proxy.clear();
    proxy.inject({ path: keyPath('down/blob.bin'), fault: { kind: 'status', status: 500, code: 'InternalError' }, times: Infinity });
    await assert.rejects(faulty.get('down/blob.bin'), (e: Error) =>
      e instanceof ArtifactError && e.message.includes(`s3://${bucket}/${prefix}/down/blob.bin`) && /HTTP 500/.test(e.message));
    const attempts = proxy.count('GET', keyPath('down/blob.bin'));
    assert.ok(attempts >= 2 && attempts <= 5, `retried, but not forever: ${attempts} attempts`);
  });

  test('403 and 404 are final: one attempt, a typed error', async () => {
    await direct.put('denied/blob.bin', Buffer.from('x'));
    proxy.clear();
    proxy.inject({ path: keyPath('denied/blob.bin'), fault: { kind: 'status', status: 403, code: 'AccessDenied' } });
    await assert.rejects(faulty.get('denied/blob.bin'), ArtifactAccessDeniedError);
    assert.equal(proxy.count('GET', keyPath('denied/blob.bin')), 1);
    await assert.rejects(faulty.get('nothing/here.bin'), ArtifactNotFoundError);
    assert.equal(proxy.count('GET', keyPath('nothing/here.bin')), 1);
  });

  test('PUT answered 503, or reset before any answer, is retried; what is stored is whole', async () => {
    const bytes = randomBytes(200_000);
    proxy.clear();
    proxy.inject({ method: 'PUT', path: keyPath('up/blob.bin'), fault: { kind: 'status', status: 503, code: 'SlowDown' } });
    proxy.inject({ method: 'PUT', path: keyPath('up/blob.bin'), fault: { kind: 'reset-request' } });
    const put = await faulty.put('up/blob.bin', bytes);
    assert.equal(put.sha256, sha(bytes));
    assert.equal(proxy.count('PUT', keyPath('up/blob.bin')), 3);
    assert.deepEqual(await direct.get('up/blob.bin', { expectedSha256: sha(bytes) }), bytes);
  });

  test('a multipart upload survives a failed part; a part failing for good leaves no object', async () => {
    const bytes = randomBytes(9 * 1024 * 1024);
    proxy.clear();
    proxy.inject({ method: 'PUT', path: /partNumber=2/, fault: { kind: 'status', status: 503, code: 'SlowDown' } });
    const put = await faulty.put('multi/blob.bin', bytes);
    assert.equal(put.sha256, sha(bytes));
    assert.equal(proxy.count('PUT', /multi\/blob\.bin\?.*partNumber=2/), 2);
    assert.equal(sha(await direct.get('multi/blob.bin')), sha(bytes));
    proxy.clear();
    proxy.inject({ method: 'PUT', path: /partNumber=2/, fault: { kind: 'status', status: 500, code: 'InternalError' }, times: Infinity });
    await assert.rejects(faulty.put('multi/broken.bin', bytes), (e: Error) => e instanceof ArtifactError && e.message.includes('multi/broken.bin'));
    assert.equal(await direct.exists('multi/broken.bin'), false);
  });

  test('slow headers and a slow body are waited for, bytes intact', async () => {
    const bytes = randomBytes(100_000);
    await direct.put('slow/blob.bin', bytes);
    proxy.clear();
    proxy.inject({ method: 'GET', path: keyPath('slow/blob.bin'), fault: { kind: 'delay', ms: 1500 } });
    proxy.inject({ method: 'GET', path: keyPath('slow/blob.bin'), fault: { kind: 'trickle', ms: 1500 } });
    assert.deepEqual(await faulty.get('slow/blob.bin', { expectedSha256: sha(bytes) }), bytes);
    assert.deepEqual(await faulty.get('slow/blob.bin', { expectedSha256: sha(bytes) }), bytes);
  });

  test('a verified read refuses a cut, short or damaged body', async () => {
    const bytes = randomBytes(64_000);
    const put = await direct.put('cut/blob.bin', bytes);
    for (const kind of ['reset-mid-body', 'truncate'] as const) {
      proxy.clear();
      proxy.inject({ method: 'GET', path: keyPath('cut/blob.bin'), fault: { kind }, times: Infinity });
      await assert.rejects(faulty.get('cut/blob.bin', { expectedSha256: put.sha256 }), (e: Error) => e instanceof ArtifactError && e.message.includes('cut/blob.bin'), kind);
    }
    for (const kind of ['short-body', 'corrupt'] as const) {
      proxy.clear();
      proxy.inject({ method: 'GET', path: keyPath('cut/blob.bin'), fault: { kind }, times: Infinity });
      await assert.rejects(faulty.get('cut/blob.bin', { expectedSha256: put.sha256 }), ChecksumMismatchError, kind);
    }
  });

  test('a model download whose body breaks off once is retried; one that keeps breaking fails and leaves no file', async () => {
    const uri = `s3://${bucket}/${prefix}/good`;
    const expected = sha(await readFile(path.join(modelDir, 'model.onnx')));
    for (const kind of ['reset-mid-body', 'truncate'] as const) {
      proxy.clear();
      proxy.inject({ method: 'GET', path: keyPath('good/model.onnx'), fault: { kind } });
      const dest = await mkdtemp(path.join(work, 'once-'));
      const got = await getModelDir(uri, dest, { 'model.onnx': expected }, { endpoint: proxy.url });
      assert.equal(got.sha256, expected, kind);
      assert.equal(sha(await readFile(path.join(dest, 'model.onnx'))), expected);
      assert.equal(proxy.count('GET', keyPath('good/model.onnx')), 2, `${kind}: downloaded again`);
    }
    for (const kind of ['reset-mid-body', 'truncate', 'short-body', 'corrupt'] as const) {
      proxy.clear();
      proxy.inject({ method: 'GET', path: keyPath('good/model.onnx'), fault: { kind }, times: Infinity });
      const dest = await mkdtemp(path.join(work, 'always-'));
      await assert.rejects(getModelDir(uri, dest, { 'model.onnx': expected }, { endpoint: proxy.url }), (e: Error) =>
        e instanceof ArtifactError && e.message.includes(`${uri}/model.onnx`), kind);
      assert.deepEqual(await readdir(dest), [], `${kind}: nothing left behind, not even a partial download`);
    }
  });

  /** Runs `etaops serve --model-uri` until it exits (or says ready, which fails the test). */
  async function serveCli(uri: string, s3Endpoint: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [CLI, 'serve', '--model-uri', uri, '--port', '0', '--no-log'], {
      env: { ...process.env, ETAOPS_S3_ENDPOINT: s3Endpoint, ETAOPS_DATABASE_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; if (/ready on/.test(stdout)) child.kill('SIGTERM'); });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    clearTimeout(timer);
    return { code, stdout, stderr };
  }

  /** Uploads a variant of the trained model directory; `edit` changes the local copy first. */
  async function variant(name: string, edit: (dir: string) => Promise<void>): Promise<string> {
    const dir = path.join(work, name);
    await cp(modelDir, dir, { recursive: true });
    await edit(dir);
    const uri = `s3://${bucket}/${prefix}/${name}`;
    await putModelDir(uri, dir, { endpoint });
    return uri;
  }

  /** Rewrites model.json so its recorded sha256 matches whatever model.onnx now holds. */
  async function resealMeta(dir: string): Promise<void> {
    const meta = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
    meta.onnx.sha256 = sha(await readFile(path.join(dir, 'model.onnx')));
    await writeFile(path.join(dir, 'model.json'), JSON.stringify(meta));
  }

  test('etaops serve --model-uri refuses to become ready on a truncated, corrupt or mismatched artifact', async () => {
    const onnx = await readFile(path.join(modelDir, 'model.onnx'));
    const cases: [string, string, RegExp][] = [
      // model.onnx cut in half in storage, model.json intact: the sha256 in model.json refuses it.
      ['truncated-onnx', await variant('truncated-onnx', (d) => writeFile(path.join(d, 'model.onnx'), onnx.subarray(0, onnx.length >> 1))), /sha256/],
      // Not an ONNX model at all, but model.json vouches for these bytes: onnxruntime refuses it.
      ['corrupt-onnx', await variant('corrupt-onnx', async (d) => { await writeFile(path.join(d, 'model.onnx'), 'this is not an ONNX model\n'.repeat(200)); await resealMeta(d); }), /onnx|protobuf|model/i],
      // The real model cut in half, with model.json updated to match: the parser refuses it.
      ['cut-and-resealed-onnx', await variant('cut-and-resealed-onnx', async (d) => { await writeFile(path.join(d, 'model.onnx'), onnx.subarray(0, onnx.length >> 1)); await resealMeta(d); }), /onnx|protobuf|model/i],
      // A cut model.json.
      ['truncated-json', await variant('truncated-json', async (d) => { const t = await readFile(path.join(d, 'model.json')); await writeFile(path.join(d, 'model.json'), t.subarray(0, t.length >> 1)); }), /model\.json|JSON/],
    ];
    proxy.clear();
    for (const [name, uri, why] of cases) {
      const r = await serveCli(uri, endpoint as string);
      assert.doesNotMatch(r.stdout, /ready on/, `${name}: never ready`);
      assert.equal(r.code, 1, `${name}: exit 1, got ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^error: etaops serve: cannot load the model from model artifact ${uri}: `, 'm'), `${name}: ${r.stderr}`);
      assert.match(r.stderr, why, `${name}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /report it as a bug|\n\s+at /, `${name}: a clear error, no stack: ${r.stderr}`);
    }
    // A good artifact whose model.onnx download is always cut short on the way.
    proxy.inject({ method: 'GET', path: keyPath('good/model.onnx'), fault: { kind: 'short-body' }, times: Infinity });
    const cut = await serveCli(`s3://${bucket}/${prefix}/good`, proxy.url);
    assert.equal(cut.code, 1, cut.stderr);
    assert.doesNotMatch(cut.stdout, /ready on/);
    assert.match(cut.stderr, /sha256/);
  });

  test('a reload that meets a truncated or corrupt download keeps serving the old model', async () => {
    proxy.clear();
    const savedEndpoint = process.env.ETAOPS_S3_ENDPOINT;
    process.env.ETAOPS_S3_ENDPOINT = endpoint;
    const server = await startServer({ source: modelUriSource(`s3://${bucket}/${prefix}/good`), port: 0, log: () => undefined });
    try {
      const predict = async () => {
        const r = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(EXAMPLE_ORDER) });
        return { status: r.status, body: (await r.json()) as { prediction: number } };
      };
      const before = await predict();
      assert.equal(before.status, 200);
      // The source reads the endpoint at each load: point the next one through the proxy.
      process.env.ETAOPS_S3_ENDPOINT = proxy.url;
      for (const kind of ['short-body', 'corrupt', 'reset-mid-body'] as const) {
        proxy.clear();
        proxy.inject({ method: 'GET', path: keyPath('good/model.onnx'), fault: { kind }, times: Infinity });
        const r = await fetch(`${server.url}/admin/reload`, { method: 'POST' });
        const body = (await r.json()) as { error: string };
        assert.equal(r.status, 502, `${kind}: ${JSON.stringify(body)}`);
        assert.match(body.error, /reload failed, still serving/);
        const after = await predict();
        assert.equal(after.status, 200, kind);
        assert.equal(after.body.prediction, before.body.prediction, `${kind}: the same model answers`);
        assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200);
      }
      proxy.clear();
      assert.equal((await fetch(`${server.url}/admin/reload`, { method: 'POST' })).status, 200, 'a clean reload works again');
    } finally {
      if (savedEndpoint === undefined) delete process.env.ETAOPS_S3_ENDPOINT;
      else process.env.ETAOPS_S3_ENDPOINT = savedEndpoint;
      await server.close();
    }
  });
});
