/**
 * The s3:// artifact store against the real S3-compatible server `make test` starts
 * (hack/services/s3.sh). Each run works under its own key prefix and removes it at the end.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  type ArtifactStore, ArtifactAccessDeniedError, ArtifactNotFoundError, ChecksumMismatchError, getModelDir,
  openArtifactStore, putModelDir, readArtifact,
} from '../../src/storage/index.js';

const endpoint = process.env.ETAOPS_TEST_S3_ENDPOINT;
const bucket = process.env.ETAOPS_TEST_S3_BUCKET || 'etaops-test';
const skip = endpoint ? false : 'ETAOPS_TEST_S3_ENDPOINT is not set: run under hack/with-test-env.sh (make test) to start the S3 server';
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const prefix = `storage-it-${Date.now()}-${randomBytes(3).toString('hex')}`;

let store: ArtifactStore;
let raw: S3Client;
let scratch: string;

describe('s3:// artifact store against a real S3-compatible server', { skip }, () => {
  before(async () => {
    // Through the environment, the way deployments configure it.
    process.env.ETAOPS_S3_ENDPOINT = endpoint;
    store = openArtifactStore(`s3://${bucket}/${prefix}`);
    raw = new S3Client({ endpoint, region: process.env.AWS_REGION || 'us-east-1', forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
    scratch = await mkdtemp(join(tmpdir(), 'etaops-s3-it-'));
  });

  after(async () => {
    if (!store) return;
    for (const o of await store.list()) await store.delete(o.key);
    raw.destroy();
    await rm(scratch, { recursive: true, force: true });
  });

  it('round-trips an object with its sha256, head, list and delete', async () => {
    const bytes = randomBytes(4096);
    const put = await store.put('rt/model.onnx', bytes);
    assert.equal(put.uri, `s3://${bucket}/${prefix}/rt/model.onnx`);
    assert.equal(put.sha256, sha(bytes));
    assert.equal(put.size, 4096);
    assert.deepEqual(await store.get('rt/model.onnx', { expectedSha256: put.sha256 }), bytes);
    assert.deepEqual(await readArtifact(put.uri, { expectedSha256: put.sha256 }), bytes);
    assert.equal((await store.head('rt/model.onnx'))?.size, 4096);
    await store.put('rt/model.json', Buffer.from('{}'));
    assert.deepEqual((await store.list('rt/')).map((o) => o.key), ['rt/model.json', 'rt/model.onnx']);
    await store.delete('rt/model.json');
    assert.equal(await store.exists('rt/model.json'), false);
    await store.delete('rt/model.json');
  });

  it('refuses an object overwritten behind the store\'s back (checksum mismatch)', async () => {
    const put = await store.put('tamper/model.onnx', Buffer.from('the trained model'));
    await raw.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/tamper/model.onnx`, Body: Buffer.from('something else') }));
    await assert.rejects(store.get('tamper/model.onnx', { expectedSha256: put.sha256 }), (e: Error) =>
      e instanceof ChecksumMismatchError && e.message.includes(put.sha256) && e.message.includes(sha('something else')) && e.message.includes(put.uri));
  });

  it('reports missing objects and buckets as ArtifactNotFoundError', async () => {
    await assert.rejects(store.get('no/such/object'), (e: Error) => e instanceof ArtifactNotFoundError && e.message.includes(`s3://${bucket}/${prefix}/no/such/object`));
    assert.equal(await store.head('no/such/object'), undefined);
    await assert.rejects(openArtifactStore('s3://etaops-no-such-bucket/x').get('y'), ArtifactNotFoundError);
  });

  it('reports a wrong secret key as access denied, naming the URI and not the credentials', async () => {
    const accessKeyId = process.env.AWS_ACCESS_KEY_ID ?? 'etaopstest';
    const wrongSecret = 'definitely-not-the-secret-0123456789';
    const denied = openArtifactStore(`s3://${bucket}/${prefix}`, { credentials: { accessKeyId, secretAccessKey: wrongSecret } });
    // Started one at a time: a second promise rejecting while the first is awaited would be unhandled.
    for (const attempt of [() => denied.get('rt/model.onnx'), () => denied.put('denied.bin', Buffer.from('x'))]) {
      await assert.rejects(attempt(), (e: Error) =>
        e instanceof ArtifactAccessDeniedError && e.message.includes(`s3://${bucket}/${prefix}/`) &&
        !e.message.includes(wrongSecret) && !e.message.includes(accessKeyId) && !String(e.stack).includes(wrongSecret));
    }
  });

  it('streams a 20 MB object up (multipart) and down with a matching sha256', async (t) => {
    const size = 20 * 1024 * 1024;
    const expected = createHash('sha256');
    const chunk = 256 * 1024;
    async function* source() {
      for (let sent = 0; sent < size; sent += chunk) {
        const part = randomBytes(Math.min(chunk, size - sent));
        expected.update(part);
        yield part;
      }
    }
    const t0 = performance.now();
    const put = await store.put('big/blob.bin', Readable.from(source()));
    const upMs = performance.now() - t0;
    assert.equal(put.size, size);
    assert.equal(put.sha256, expected.digest('hex'));
    assert.equal((await store.head('big/blob.bin'))?.size, size);
    // A multipart object's ETag ends in -<parts>: 20 MiB went up as 8 + 8 + 4 MiB, never whole in memory.
    const head = await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}/big/blob.bin` }));
    assert.match(String(head.ETag), /-3"?$/);
    const t1 = performance.now();
    const down = createHash('sha256');
    let got = 0;
    for await (const c of await store.getStream('big/blob.bin')) {
      down.update(c as Buffer);
      got += (c as Buffer).length;
    }
    const downMs = performance.now() - t1;
    assert.equal(got, size);
    assert.equal(down.digest('hex'), put.sha256);
    t.diagnostic(`20 MiB: upload ${upMs.toFixed(0)} ms, streamed download ${downMs.toFixed(0)} ms`);
  });

  it('aborts a multipart upload whose source fails: no object, no dangling upload', async () => {
    async function* breaksAfterTenMiB() {
      for (let i = 0; i < 10; i++) yield randomBytes(1024 * 1024);
      throw new Error('source broke');
    }
    await assert.rejects(store.put('broken/blob.bin', Readable.from(breaksAfterTenMiB())), /source broke/);
    assert.equal(await store.exists('broken/blob.bin'), false);
    const uploads = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/broken/` }));
    assert.deepEqual(uploads.Uploads ?? [], []);
  });

  it('names the endpoint problem when the server cannot be reached', async () => {
    const dead = openArtifactStore(`s3://${bucket}/${prefix}`, { endpoint: 'http://127.0.0.1:9' });
    await assert.rejects(dead.get('rt/model.onnx'), (e: Error) => e.message.includes(`s3://${bucket}/${prefix}/rt/model.onnx`) && /ECONNREFUSED|connect/i.test(e.message));
  });

  it('uploads and fetches a model directory, verifying model.onnx', async () => {
    const src = join(scratch, 'model');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'model.onnx'), randomBytes(1000));
    await writeFile(join(src, 'model.json'), '{"featureSpecVersion":"1"}');
    const manifest = await putModelDir(`s3://${bucket}/${prefix}/models/eta/1`, src);
    assert.equal(manifest.sha256, sha(await readFile(join(src, 'model.onnx'))));
    const dest = join(scratch, 'fetched');
    await getModelDir(manifest.uri, dest, { 'model.onnx': manifest.sha256 });
    assert.deepEqual(await readFile(join(dest, 'model.onnx')), await readFile(join(src, 'model.onnx')));
    const bad = join(scratch, 'bad');
    await assert.rejects(getModelDir(manifest.uri, bad, { 'model.onnx': sha('other') }), ChecksumMismatchError);
    assert.deepEqual((await readdir(bad)).filter((n) => n.startsWith('model.onnx')), []);
  });
});
