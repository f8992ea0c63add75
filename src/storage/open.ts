import type { ArtifactStore, S3StoreOptions } from './index.js';

/** Opens the store for `s3://bucket/prefix`, `file:///abs/path` or a plain local path. */
export function openArtifactStore(uri: string, opts: S3StoreOptions = {}): ArtifactStore {
  void uri; void opts;
  throw new Error('not implemented yet');
}

/** Alias of openArtifactStore. */
export const storeFor = openArtifactStore;
