/**
 * A model artifact = a directory with model.onnx + model.json. Its sha256 (the one recorded in
 * the registry and on ModelVersion.spec.artifact.sha256) is the sha256 of model.onnx, the bytes
 * that decide predictions; model.json's sha256 is returned too and can be checked the same way.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import type { GetOptions, ModelDirManifest, S3StoreOptions } from './index.js';
import { MODEL_FILES } from './index.js';
import { ChecksumMismatchError, InvalidArtifactUriError } from './errors.js';
import { fsError } from './file-store.js';
import { openArtifactStore } from './open.js';
import { parseS3Uri } from './s3-store.js';

/**
 * Uploads model.onnx and model.json from `localDir` under `dirUri`. Returns each file's
 * sha256; the manifest's `sha256` is model.onnx's.
 */
export async function putModelDir(dirUri: string, localDir: string, opts: S3StoreOptions = {}): Promise<ModelDirManifest> {
  const store = openArtifactStore(dirUri, opts);
  const files: ModelDirManifest['files'] = {};
  for (const name of MODEL_FILES) {
    const local = join(localDir, name);
    try {
      await stat(local);
    } catch (err) {
      throw fsError(err, pathToFileURL(local).href);
    }
    const written = await store.put(name, createReadStream(local));
    files[name] = written;
  }
  return { uri: store.baseUri, sha256: files['model.onnx'].sha256, files };
}

/**
 * Downloads model.onnx and model.json (and any other file named in `expectedShaByFile`) from
 * `dirUri` into `localDir`, verifying each file whose sha256 is given, e.g.
 * `{ 'model.onnx': version.sha256 }`. Each file streams to a temporary name and is renamed
 * only once verified, so a failed check leaves no file behind to be loaded by mistake.
 */
export async function getModelDir(dirUri: string, localDir: string, expectedShaByFile: Record<string, string> = {}, opts: S3StoreOptions = {}): Promise<ModelDirManifest> {
  const store = openArtifactStore(dirUri, opts);
  await mkdir(localDir, { recursive: true });
  const names = [...new Set<string>([...MODEL_FILES, ...Object.keys(expectedShaByFile)])];
  const files: ModelDirManifest['files'] = {};
  for (const name of names) {
    if (name.includes('/') || name === '.' || name === '..') throw new InvalidArtifactUriError(`${store.baseUri}/${name}`, 'model files are plain names');
    const uri = store.uriFor(name);
    const target = join(localDir, name);
    const tmp = `${target}.download-${randomBytes(6).toString('hex')}`;
    const hash = createHash('sha256');
    let size = 0;
    try {
      const source = await store.getStream(name);
      await pipeline(source, async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      }, createWriteStream(tmp));
      const actual = hash.digest('hex');
      const expected = expectedShaByFile[name];
      if (expected !== undefined && actual !== expected.toLowerCase()) throw new ChecksumMismatchError(uri, expected, actual);
      await rename(tmp, target);
      files[name] = { uri, sha256: actual, size };
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw err instanceof Error && 'uri' in err ? err : fsError(err, uri);
    }
  }
  return { uri: store.baseUri, sha256: files['model.onnx'].sha256, files };
}

/** Reads one object by absolute URI (s3://bucket/key, file:///path or a path), verifying if asked. */
export async function readArtifact(uri: string, getOpts: GetOptions = {}, opts: S3StoreOptions = {}): Promise<Buffer> {
  if (uri.startsWith('s3://')) {
    const { bucket, prefix } = parseS3Uri(uri);
    if (prefix === '') throw new InvalidArtifactUriError(uri, 'names a bucket, not an object');
    return openArtifactStore(`s3://${bucket}`, opts).get(uri, getOpts);
  }
  return openArtifactStore('file:///').get(uri.startsWith('file://') ? uri : pathToFileURL(uri).href, getOpts);
}
