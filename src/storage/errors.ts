/** Errors of the artifact store: each names the URI involved, never credentials. */
export class ArtifactError extends Error {
  constructor(message: string, readonly uri: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArtifactError';
  }
}

export class ArtifactNotFoundError extends ArtifactError {
  constructor(uri: string, options?: { cause?: unknown }) {
    super(`artifact not found: ${uri}`, uri, options);
    this.name = 'ArtifactNotFoundError';
  }
}

export class ArtifactAccessDeniedError extends ArtifactError {
  constructor(uri: string, detail: string, options?: { cause?: unknown }) {
    super(`access denied to ${uri}: ${detail}`, uri, options);
    this.name = 'ArtifactAccessDeniedError';
  }
}

export class ChecksumMismatchError extends ArtifactError {
  constructor(uri: string, readonly expected: string, readonly actual: string) {
    super(`sha256 mismatch for ${uri}: expected ${expected}, got ${actual} (the stored object changed or is corrupt)`, uri);
    this.name = 'ChecksumMismatchError';
  }
}

export class InvalidArtifactUriError extends ArtifactError {
  constructor(uri: string, why: string) {
    super(`invalid artifact URI '${uri}': ${why}`, uri);
    this.name = 'InvalidArtifactUriError';
  }
}
