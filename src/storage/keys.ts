import type { ArtifactBody } from './index.js';
import { InvalidArtifactUriError } from './errors.js';

/**
 * Checks a store-relative key: forward slashes, no empty, '.' or '..' segments, no NUL. Keys
 * that could climb out of the store's base are refused rather than normalised.
 */
export function checkKey(key: string, baseUri: string): string {
  if (typeof key !== 'string' || key === '') throw new InvalidArtifactUriError(`${baseUri}/${String(key)}`, 'empty key');
  const segments = key.split('/');
  if (key.includes('\0') || key.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new InvalidArtifactUriError(`${baseUri}/${key}`, "key segments must be non-empty and not '.' or '..'");
  }
  return key;
}

/** Joins a base prefix and a key with exactly one slash. */
export function joinKey(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}/${key}`;
}

/** Iterates the chunks of any body shape. */
export async function* chunksOf(body: ArtifactBody): AsyncIterable<Uint8Array> {
  if (body instanceof Uint8Array) {
    yield body;
    return;
  }
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  }
}
