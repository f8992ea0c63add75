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
import type { ArtifactStore, GetOptions, ModelDirManifest, S3StoreOptions } from './index.js';
import { MODEL_FILES } from './index.js';
import { ArtifactError, ChecksumMismatchError, InvalidArtifactUriError } from './errors.js';
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
 * A download whose body broke off (connection reset, cut short) is started again this many
 * times in all: the S3 SDK retries failed requests, but not a body that fails mid-stream.
 */
const DOWNLOAD_ATTEMPTS = 3;

/** The source stream of a download failed after it had started: worth another try. */
class InterruptedDownloadError extends ArtifactError {
  constructor(uri: string, bytes: number, cause: unknown) {
    super(`download of ${uri} broke off after ${bytes} bytes: ${(cause as Error)?.message ?? String(cause)}`, uri, { cause });
    this.name = 'InterruptedDownloadError';
  }
}

/**
 * Downloads model.onnx and model.json (and any other file named in `expectedShaByFile`) from
 * `dirUri` into `localDir`, verifying each file whose sha256 is given, e.g.
 * `{ 'model.onnx': version.sha256 }`. Each file streams to a temporary name and is renamed
 * only once verified, so a failed check leaves no file behind to be loaded by mistake. A body
 * that breaks off is downloaded again (DOWNLOAD_ATTEMPTS in all, short backoff).
 */
export async function getModelDir(dirUri: string, localDir: string, expectedShaByFile: Record<string, string> = {}, opts: S3StoreOptions = {}): Promise<ModelDirManifest> {
  const store = openArtifactStore(dirUri, opts);
  await mkdir(localDir, { recursive: true });
  const names = [...new Set<string>([...MODEL_FILES, ...Object.keys(expectedShaByFile)])];
  const files: ModelDirManifest['files'] = {};
  for (const name of names) {
    if (name.includes('/') || name === '.' || name === '..') throw new InvalidArtifactUriError(`${store.baseUri}/${name}`, 'model files are plain names');
    for (let attempt = 1; ; attempt++) {
      try {
        files[name] = await downloadFile(store, name, join(localDir, name), expectedShaByFile[name]);
        break;
      } catch (err) {
        if (!(err instanceof InterruptedDownloadError) || attempt >= DOWNLOAD_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }
  return { uri: store.baseUri, sha256: files['model.onnx'].sha256, files };
}

/** One file to `target` through a temporary name, verified against `expected` when given. */
async function downloadFile(store: ArtifactStore, name: string, target: string, expected: string | undefined): Promise<ModelDirManifest['files'][string]> {
  const uri = store.uriFor(name);
  const tmp = `${target}.download-${randomBytes(6).toString('hex')}`;
  const hash = createHash('sha256');
  let size = 0;
  let sourceFailed = false;
  try {
    const source = await store.getStream(name);
    source.once('error', () => { sourceFailed = true; });
    await pipeline(source, async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    }, createWriteStream(tmp));
    const actual = hash.digest('hex');
    if (expected !== undefined && actual !== expected.toLowerCase()) throw new ChecksumMismatchError(uri, expected, actual);
    await rename(tmp, target);
    return { uri, sha256: actual, size };
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    if (sourceFailed) throw new InterruptedDownloadError(uri, size, err);
    throw err instanceof Error && 'uri' in err ? err : fsError(err, uri);
  }
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
