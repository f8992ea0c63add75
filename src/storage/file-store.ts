/** The `file://` artifact store: a directory tree; writes go to a temp file then rename. */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ArtifactBody, ArtifactStore, GetOptions, ObjectInfo, PutResult } from './index.js';
import { ArtifactAccessDeniedError, ArtifactError, ArtifactNotFoundError, ChecksumMismatchError, InvalidArtifactUriError } from './errors.js';
import { checkKey, chunksOf } from './keys.js';

const TMP_MARK = '.etaops-tmp-';

/** Maps fs errors to the store's error types, naming the URI. */
export function fsError(err: unknown, uri: string): Error {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new ArtifactNotFoundError(uri, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new ArtifactAccessDeniedError(uri, `file permissions (${code})`, { cause: err });
  if (err instanceof ArtifactError) return err;
  return new ArtifactError(`cannot access ${uri}: ${(err as Error).message}`, uri, { cause: err });
}

export class FileArtifactStore implements ArtifactStore {
  readonly baseUri: string;

  constructor(readonly root: string) {
    this.baseUri = pathToFileURL(root).href.replace(/\/$/, '');
  }

  uriFor(key: string): string {
    return pathToFileURL(this.pathOf(key)).href;
  }

  async put(key: string, body: ArtifactBody): Promise<PutResult> {
    const path = this.pathOf(key);
    const uri = pathToFileURL(path).href;
    const tmp = `${path}${TMP_MARK}${randomBytes(6).toString('hex')}`;
    const hash = createHash('sha256');
    let size = 0;
    try {
      await mkdir(dirname(path), { recursive: true });
      await pipeline(async function* () {
        for await (const chunk of chunksOf(body)) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      }, createWriteStream(tmp, { flags: 'wx' }));
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw fsError(err, uri);
    }
    return { uri, sha256: hash.digest('hex'), size };
  }

  async get(ref: string, opts: GetOptions = {}): Promise<Buffer> {
    const path = this.resolveRef(ref);
    const uri = pathToFileURL(path).href;
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw fsError(err, uri);
    }
    if (opts.expectedSha256 !== undefined) {
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== opts.expectedSha256.toLowerCase()) throw new ChecksumMismatchError(uri, opts.expectedSha256, actual);
    }
    return bytes;
  }

  async getStream(ref: string): Promise<Readable> {
    const path = this.resolveRef(ref);
    try {
      // Opening first makes a missing file fail here, not as a later stream 'error'.
      const handle = await open(path, 'r');
      return handle.createReadStream();
    } catch (err) {
      throw fsError(err, pathToFileURL(path).href);
    }
  }

  async head(ref: string): Promise<ObjectInfo | undefined> {
    const path = this.resolveRef(ref);
    try {
      const s = await stat(path);
      if (!s.isFile()) return undefined;
      return { uri: pathToFileURL(path).href, key: this.keyOf(path), size: s.size, lastModified: s.mtime };
    } catch (err) {
      const e = fsError(err, pathToFileURL(path).href);
      if (e instanceof ArtifactNotFoundError) return undefined;
      throw e;
    }
  }

  async exists(ref: string): Promise<boolean> {
    return (await this.head(ref)) !== undefined;
  }

  async list(prefix = ''): Promise<ObjectInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.root, { recursive: true });
    } catch (err) {
      const e = fsError(err, this.baseUri);
      if (e instanceof ArtifactNotFoundError) return [];
      throw e;
    }
    const out: ObjectInfo[] = [];
    for (const name of names) {
      const key = name.split(sep).join('/');
      if (!key.startsWith(prefix) || key.includes(TMP_MARK)) continue;
      const info = await this.head(key).catch(() => undefined);
      if (info) out.push(info);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(ref: string): Promise<void> {
    const path = this.resolveRef(ref);
    try {
      await rm(path, { force: true });
    } catch (err) {
      throw fsError(err, pathToFileURL(path).href);
    }
  }

  private pathOf(key: string): string {
    return join(this.root, ...checkKey(key, this.baseUri).split('/'));
  }

  /** A key under the root, or an absolute file:// URI / absolute path anywhere. */
  private resolveRef(ref: string): string {
    if (ref.startsWith('file://')) return fileURLToPath(ref);
    if (isAbsolute(ref)) return resolve(ref);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) throw new InvalidArtifactUriError(ref, `a file:// store cannot read ${ref.split(':')[0]}:// objects`);
    return this.pathOf(ref);
  }

  private keyOf(path: string): string {
    return relative(this.root, path).split(sep).join('/');
  }
}
