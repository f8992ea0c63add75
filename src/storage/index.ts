/**
 * Artifact store: one interface over `s3://bucket/prefix` and `file:///abs/path` (or a plain
 * path). Every write returns the object's sha256 computed while streaming; every verified read
 * refuses bytes whose sha256 differs from the one the caller recorded (e.g. in the registry).
 *
 * A model's artifact is a directory holding `model.onnx` + `model.json`; its sha256 (the one
 * stored in the registry and in ModelVersion.spec.artifact.sha256) is the sha256 of model.onnx.
 */
import type { Readable } from 'node:stream';

export { ArtifactError, ArtifactNotFoundError, ArtifactAccessDeniedError, ChecksumMismatchError, InvalidArtifactUriError } from './errors.js';

/** Bytes to store: a buffer, a Node readable, or any async iterable of chunks. */
export type ArtifactBody = Uint8Array | Readable | AsyncIterable<Uint8Array>;

export interface PutResult {
  /** Absolute URI of the written object (s3://bucket/key or file:///abs/path). */
  uri: string;
  /** Lowercase hex sha256 of the bytes written. */
  sha256: string;
  /** Byte count written. */
  size: number;
}

export interface ObjectInfo {
  uri: string;
  /** Key relative to the store's base URI. */
  key: string;
  size: number;
  lastModified?: Date;
}

export interface GetOptions {
  /** When set, the read fails with ChecksumMismatchError unless the bytes hash to this. */
  expectedSha256?: string;
}

export interface ArtifactStore {
  /** The base URI this store was opened on, without a trailing slash. */
  readonly baseUri: string;
  /** Absolute URI of `key` under the base. */
  uriFor(key: string): string;
  put(key: string, body: ArtifactBody): Promise<PutResult>;
  /**
   * `ref` is a key relative to the base or an absolute URI of the same scheme.
   * Throws ArtifactNotFoundError / ArtifactAccessDeniedError / ChecksumMismatchError.
   */
  get(ref: string, opts?: GetOptions): Promise<Buffer>;
  /** Streams the object; no checksum check (hash it yourself or use get()). */
  getStream(ref: string): Promise<Readable>;
  /** Size and time of an object, or undefined when it does not exist. */
  head(ref: string): Promise<ObjectInfo | undefined>;
  exists(ref: string): Promise<boolean>;
  /** Objects whose key starts with `prefix` (relative to the base), sorted by key. */
  list(prefix?: string): Promise<ObjectInfo[]>;
  /** Deleting a missing object is not an error. */
  delete(ref: string): Promise<void>;
}

export interface S3StoreOptions {
  /** Overrides ETAOPS_S3_ENDPOINT / AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. */
  endpoint?: string;
  /** Overrides AWS_REGION (default us-east-1). */
  region?: string;
  /** Static credentials; default is the SDK's chain (env, profile, IRSA web identity, IMDS). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Files of a model directory, the sha256 of each, and the artifact sha256 (= model.onnx's). */
export interface ModelDirManifest {
  uri: string;
  sha256: string;
  files: Record<string, { uri: string; sha256: string; size: number }>;
}

export const MODEL_FILES = ['model.onnx', 'model.json'] as const;

export { openArtifactStore, storeFor } from './open.js';
export { putModelDir, getModelDir, readArtifact } from './model-dir.js';
