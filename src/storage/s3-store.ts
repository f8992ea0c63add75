/**
 * The `s3://bucket/prefix` artifact store. Large uploads go up as a multipart upload of 8 MiB
 * parts read from the stream, so memory stays bounded whatever the object size; the sha256 is
 * computed over the same bytes as they pass.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { ArtifactBody, ArtifactStore, GetOptions, ObjectInfo, PutResult, S3StoreOptions } from './index.js';
import { ArtifactAccessDeniedError, ArtifactError, ArtifactNotFoundError, ChecksumMismatchError, InvalidArtifactUriError } from './errors.js';
import { checkKey, chunksOf, joinKey } from './keys.js';

/** S3's minimum part size is 5 MiB; 8 MiB keeps part counts low for model-sized objects. */
export const PART_SIZE = 8 * 1024 * 1024;

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket']);
const DENIED = new Set(['AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'AllAccessDisabled']);

/** Splits `s3://bucket/some/prefix` into bucket and prefix (no slashes at either end). */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new InvalidArtifactUriError(uri, 'expected s3://bucket[/prefix]');
  const bucket = m[1];
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new InvalidArtifactUriError(uri, `'${bucket}' is not a valid bucket name`);
  return { bucket, prefix: m[2].replace(/\/+$/, '') };
}

/**
 * Endpoint from options, then ETAOPS_S3_ENDPOINT, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL (undefined
 * = AWS). AWS_ENDPOINT_URL is the key the operator's S3 Secret documents and what the dataset
 * reader honours: without it here, pods read data from the S3-compatible server but wrote models
 * with the SDK's own endpoint handling (virtual-hosted bucket names).
 */
export function s3EndpointFromEnv(opts: S3StoreOptions = {}): string | undefined {
  return opts.endpoint || process.env.ETAOPS_S3_ENDPOINT || process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
}

export function makeS3Client(opts: S3StoreOptions = {}): S3Client {
  const endpoint = s3EndpointFromEnv(opts);
  return new S3Client({
    region: opts.region || process.env.AWS_REGION || 'us-east-1',
    endpoint,
    // S3-compatible servers on a plain host:port do not serve bucket subdomains.
    forcePathStyle: endpoint !== undefined,
    // Default CRC32 request/response checksums are rejected by some S3-compatible servers;
    // integrity is covered by our own sha256 instead.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Undefined = the SDK's default chain (env, profile, IRSA web identity, container, IMDS).
    credentials: opts.credentials,
  });
}

/** Maps an SDK error to the store's error types, naming the URI and never credentials. */
export function s3Error(err: unknown, uri: string): Error {
  if (err instanceof ArtifactError) return err;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  if (NOT_FOUND.has(name) || status === 404) return new ArtifactNotFoundError(uri, { cause: err });
  if (DENIED.has(name) || status === 403) {
    return new ArtifactAccessDeniedError(uri, `${name} (HTTP ${status ?? '?'}); check the credentials and the bucket policy`, { cause: err });
  }
  if (name === 'CredentialsProviderError') {
    return new ArtifactAccessDeniedError(uri, 'no AWS credentials found (env, profile, web identity or instance role)', { cause: err });
  }
  // Neither SDK nor network error messages carry credentials; the message says what broke
  // (e.g. connection refused, or the caller's source stream failing mid-upload).
  const detail = (err as Error)?.message ? `: ${(err as Error).message}` : '';
  return new ArtifactError(`S3 request for ${uri} failed: ${name}${status ? ` (HTTP ${status})` : ''}${detail}`, uri, { cause: err });
}

export class S3ArtifactStore implements ArtifactStore {
  readonly baseUri: string;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(uri: string, private readonly client: S3Client) {
    const { bucket, prefix } = parseS3Uri(uri);
    this.bucket = bucket;
    this.prefix = prefix;
    this.baseUri = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
  }

  uriFor(key: string): string {
    return `s3://${this.bucket}/${joinKey(this.prefix, checkKey(key, this.baseUri))}`;
  }

  async put(key: string, body: ArtifactBody): Promise<PutResult> {
    const objectKey = joinKey(this.prefix, checkKey(key, this.baseUri));
    const uri = `s3://${this.bucket}/${objectKey}`;
    const hash = createHash('sha256');
    let size = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let uploadId: string | undefined;
    const parts: { ETag: string | undefined; PartNumber: number }[] = [];
    const sendPart = async (bytes: Buffer): Promise<void> => {
      if (uploadId === undefined) {
        const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey }));
        uploadId = created.UploadId;
      }
      const PartNumber = parts.length + 1;
      const r = await this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId, PartNumber, Body: bytes, ContentLength: bytes.length }));
      parts.push({ ETag: r.ETag, PartNumber });
    };
    try {
      for await (const chunk of chunksOf(body)) {
        hash.update(chunk);
        size += chunk.length;
        pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        pendingBytes += chunk.length;
        while (pendingBytes >= PART_SIZE) {
          const all = Buffer.concat(pending);
          await sendPart(all.subarray(0, PART_SIZE));
          pending = [all.subarray(PART_SIZE)];
          pendingBytes = all.length - PART_SIZE;
        }
      }
      const rest = Buffer.concat(pending);
      if (uploadId === undefined) {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: rest, ContentLength: rest.length }));
      } else {
        if (rest.length > 0) await sendPart(rest);
        await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
      }
    } catch (err) {
      if (uploadId !== undefined) {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId })).catch(() => {});
      }
      throw s3Error(err, uri);
    }
    return { uri, sha256: hash.digest('hex'), size };
  }

  async get(ref: string, opts: GetOptions = {}): Promise<Buffer> {
    const stream = await this.getStream(ref);
    const uri = this.uriOfRef(ref);
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        hash.update(chunk);
        chunks.push(chunk);
      }
    } catch (err) {
      throw s3Error(err, uri);
    }
    const actual = hash.digest('hex');
    if (opts.expectedSha256 !== undefined && actual !== opts.expectedSha256.toLowerCase()) {
      throw new ChecksumMismatchError(uri, opts.expectedSha256, actual);
    }
    return Buffer.concat(chunks);
  }

  async getStream(ref: string): Promise<Readable> {
    const { bucket, key } = this.locate(ref);
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return r.Body as Readable;
    } catch (err) {
      throw s3Error(err, `s3://${bucket}/${key}`);
    }
  }

  async head(ref: string): Promise<ObjectInfo | undefined> {
    const { bucket, key } = this.locate(ref);
    const uri = `s3://${bucket}/${key}`;
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { uri, key: this.relativeKey(key), size: r.ContentLength ?? 0, lastModified: r.LastModified };
    } catch (err) {
      const e = s3Error(err, uri);
      if (e instanceof ArtifactNotFoundError) return undefined;
      throw e;
    }
  }

  async exists(ref: string): Promise<boolean> {
    return (await this.head(ref)) !== undefined;
  }

  async list(prefix = ''): Promise<ObjectInfo[]> {
    const full = this.prefix === '' ? prefix : `${this.prefix}/${prefix}`;
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, ContinuationToken: token }));
        for (const o of r.Contents ?? []) {
          if (!o.Key) continue;
          out.push({ uri: `s3://${this.bucket}/${o.Key}`, key: this.relativeKey(o.Key), size: o.Size ?? 0, lastModified: o.LastModified });
        }
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw s3Error(err, `${this.baseUri}/${prefix}`);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(ref: string): Promise<void> {
    const { bucket, key } = this.locate(ref);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      const e = s3Error(err, `s3://${bucket}/${key}`);
      if (!(e instanceof ArtifactNotFoundError)) throw e;
    }
  }

  /** An absolute s3:// URI (any bucket the credentials reach) or a key under this store's prefix. */
  private locate(ref: string): { bucket: string; key: string } {
    if (ref.startsWith('s3://')) {
      const { bucket, prefix } = parseS3Uri(ref);
      if (prefix === '') throw new InvalidArtifactUriError(ref, 'names a bucket, not an object');
      return { bucket, key: prefix };
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) throw new InvalidArtifactUriError(ref, `an s3:// store cannot read ${ref.split(':')[0]}:// objects`);
    return { bucket: this.bucket, key: joinKey(this.prefix, checkKey(ref, this.baseUri)) };
  }

  private uriOfRef(ref: string): string {
    const { bucket, key } = this.locate(ref);
    return `s3://${bucket}/${key}`;
  }

  private relativeKey(key: string): string {
    return this.prefix !== '' && key.startsWith(`${this.prefix}/`) ? key.slice(this.prefix.length + 1) : key;
  }
}
