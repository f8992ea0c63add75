/** The file:// artifact store and the model directory helpers, on a temp folder. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import {
  ArtifactAccessDeniedError, ArtifactNotFoundError, ChecksumMismatchError, InvalidArtifactUriError, getModelDir,
  openArtifactStore, putModelDir, readArtifact,
} from '../../src/storage/index.js';
import { fsError } from '../../src/storage/file-store.js';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'etaops-store-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('file:// artifact store', () => {
  it('round-trips bytes and streams with the sha256 of what was written', async () => {
    const store = openArtifactStore(pathToFileURL(join(root, 'a')).href);
    const bytes = Buffer.from('model bytes \u00e9');
    const put = await store.put('models/eta/1/model.onnx', bytes);
    assert.equal(put.sha256, sha(bytes));
    assert.equal(put.size, bytes.length);
    assert.equal(put.uri, pathToFileURL(join(root, 'a/models/eta/1/model.onnx')).href);
    assert.deepEqual(await store.get('models/eta/1/model.onnx', { expectedSha256: put.sha256 }), bytes);
    assert.deepEqual(await store.get(put.uri), bytes, 'absolute URIs work too');
    const chunks = ['a'.repeat(70_000), 'b'.repeat(10), 'c'.repeat(123_457)];
    const streamed = await store.put('big.bin', Readable.from(chunks.map((c) => Buffer.from(c))));
    assert.equal(streamed.sha256, sha(chunks.join('')));
    assert.equal(streamed.size, 70_000 + 10 + 123_457);
    let back = '';
    for await (const c of await store.getStream('big.bin')) back += String(c);
    assert.equal(back, chunks.join(''));
  });

  it('refuses bytes whose sha256 differs, naming expected and actual', async () => {
    const store = openArtifactStore(join(root, 'b'));
    const put = await store.put('m.onnx', Buffer.from('original'));
    await writeFile(join(root, 'b/m.onnx'), 'tampered');
    await assert.rejects(store.get('m.onnx', { expectedSha256: put.sha256 }), (e: Error) =>
      e instanceof ChecksumMismatchError && e.message.includes(put.sha256) && e.message.includes(sha('tampered')));
  });

  it('maps missing files and permissions to typed errors naming the URI', async (t) => {
    const store = openArtifactStore(join(root, 'c'));
    await assert.rejects(store.get('nope.onnx'), (e: Error) => e instanceof ArtifactNotFoundError && e.message.includes('c/nope.onnx'));
    await assert.rejects(store.getStream('nope.onnx'), ArtifactNotFoundError);
    assert.equal(await store.exists('nope.onnx'), false);
    assert.equal(await store.head('nope.onnx'), undefined);
    await store.put('locked/x', Buffer.from('x'));
    if (process.getuid?.() === 0) {
      t.diagnostic('running as root: real file permissions cannot deny access; checking the errno mapping only');
      const denied = fsError(Object.assign(new Error('open'), { code: 'EACCES' }), 'file:///srv/m.onnx');
      assert.ok(denied instanceof ArtifactAccessDeniedError && denied.message.includes('file:///srv/m.onnx'));
    } else {
      await chmod(join(root, 'c/locked/x'), 0o000);
      await assert.rejects(store.get('locked/x'), (e: Error) => e instanceof ArtifactAccessDeniedError && e.message.includes('locked/x'));
      await chmod(join(root, 'c/locked/x'), 0o644);
    }
  });

  it('refuses keys that would leave the store and schemes it does not speak', async () => {
    const store = openArtifactStore(join(root, 'd'));
    for (const key of ['../escape', 'a/../../b', '/abs', '', 'a//b', 'a/./b']) {
      await assert.rejects(store.put(key, Buffer.from('x')), InvalidArtifactUriError, key);
    }
    assert.throws(() => openArtifactStore('gs://bucket/x'), InvalidArtifactUriError);
    assert.throws(() => openArtifactStore(''), InvalidArtifactUriError);
    await assert.rejects(store.get('s3://bucket/x'), InvalidArtifactUriError);
  });

  it('maps every accepted key to a path inside the store (property)', () => {
    const base = join(root, 'prop');
    const store = openArtifactStore(base);
    const piece = fc.constantFrom('a', 'b', '.', '..', '/', '\\', '\0', '%2e', '~', ' ', 'é');
    fc.assert(fc.property(fc.string({ unit: piece, maxLength: 12 }), (key) => {
      let uri: string;
      try {
        uri = store.uriFor(key);
      } catch (e) {
        return e instanceof InvalidArtifactUriError;
      }
      const path = fileURLToPath(uri);
      return path.startsWith(base + '/') && path.length > base.length + 1;
    }), { numRuns: 500 });
  });

  it('lists by prefix, sorted, without temp files, and deletes idempotently', async () => {
    const store = openArtifactStore(join(root, 'e'));
    for (const k of ['m/2/model.json', 'm/1/model.onnx', 'm/1/model.json', 'other/x']) await store.put(k, Buffer.from(k));
    assert.deepEqual((await store.list('m/')).map((o) => o.key), ['m/1/model.json', 'm/1/model.onnx', 'm/2/model.json']);
    assert.equal((await store.head('m/1/model.onnx'))?.size, 'm/1/model.onnx'.length);
    await store.delete('m/1/model.onnx');
    await store.delete('m/1/model.onnx');
    assert.equal(await store.exists('m/1/model.onnx'), false);
    assert.deepEqual(await openArtifactStore(join(root, 'never-made')).list(), []);
  });

  it('leaves no partial object when the source stream fails', async () => {
    const store = openArtifactStore(join(root, 'f'));
    const failing = Readable.from((async function* () {
      yield Buffer.from('half');
      throw new Error('source broke');
    })());
    await assert.rejects(store.put('x.bin', failing), /source broke/);
    assert.deepEqual(await readdir(join(root, 'f')), []);
  });
});

describe('model directory helpers', () => {
  it('uploads model.onnx + model.json and downloads them verified; artifact sha256 = model.onnx', async () => {
    const src = join(root, 'src-model');
    await rm(src, { recursive: true, force: true });
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'model.onnx'), Buffer.from([8, 1, 18, 4, 1, 2, 3]));
    await writeFile(join(src, 'model.json'), '{"features":[]}');
    const dirUri = pathToFileURL(join(root, 'registry/eta/1')).href;
    const manifest = await putModelDir(dirUri, src);
    assert.equal(manifest.sha256, sha(Buffer.from([8, 1, 18, 4, 1, 2, 3])));
    assert.equal(manifest.files['model.json'].sha256, sha('{"features":[]}'));
    const dest = join(root, 'dest-model');
    const got = await getModelDir(dirUri, dest, { 'model.onnx': manifest.sha256, 'model.json': manifest.files['model.json'].sha256 });
    assert.equal(got.sha256, manifest.sha256);
    assert.equal(await readFile(join(dest, 'model.json'), 'utf8'), '{"features":[]}');
    assert.deepEqual(await readArtifact(`${dirUri}/model.onnx`, { expectedSha256: manifest.sha256 }), Buffer.from([8, 1, 18, 4, 1, 2, 3]));
  });

  it('leaves nothing in the target folder when a file fails verification', async () => {
    const src = join(root, 'src-model2');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'model.onnx'), 'onnx');
    await writeFile(join(src, 'model.json'), '{}');
    const dirUri = pathToFileURL(join(root, 'registry/eta/2')).href;
    await putModelDir(dirUri, src);
    const dest = join(root, 'dest-model2');
    await assert.rejects(getModelDir(dirUri, dest, { 'model.onnx': sha('something else') }), ChecksumMismatchError);
    assert.deepEqual(await readdir(dest), []);
    await assert.rejects(putModelDir(dirUri, join(root, 'no-such-dir')), ArtifactNotFoundError);
    await assert.rejects(getModelDir(pathToFileURL(join(root, 'registry/missing')).href, join(root, 'dest3')), ArtifactNotFoundError);
  });
});
