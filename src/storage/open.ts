import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactStore, S3StoreOptions } from './index.js';
import { InvalidArtifactUriError } from './errors.js';
import { FileArtifactStore } from './file-store.js';
import { S3ArtifactStore, makeS3Client } from './s3-store.js';

/**
 * Opens the store for `s3://bucket/prefix`, `file:///abs/path` or a plain local path
 * (relative paths resolve against the working directory).
 */
export function openArtifactStore(uri: string, opts: S3StoreOptions = {}): ArtifactStore {
  if (typeof uri !== 'string' || uri.trim() === '') throw new InvalidArtifactUriError(String(uri), 'empty URI');
  if (uri.startsWith('s3://')) return new S3ArtifactStore(uri, makeS3Client(opts));
  if (uri.startsWith('file://')) {
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch (err) {
      throw new InvalidArtifactUriError(uri, (err as Error).message);
    }
    return new FileArtifactStore(path.replace(/\/+$/, '') || '/');
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new InvalidArtifactUriError(uri, `scheme ${uri.split(':')[0]}:// is not supported (use s3:// or file://)`);
  }
  return new FileArtifactStore(isAbsolute(uri) ? resolve(uri) : resolve(process.cwd(), uri));
}

/** Alias of openArtifactStore. */
export const storeFor = openArtifactStore;
