/** Registry errors a caller (CLI, server, controller) can act on. */
export class RegistryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryError';
  }
}

export class UnknownModelError extends RegistryError {
  constructor(readonly model: string) {
    super(`unknown model '${model}': no version of it is registered`);
    this.name = 'UnknownModelError';
  }
}

export class UnknownVersionError extends RegistryError {
  constructor(readonly model: string, readonly version: number) {
    super(`model '${model}' has no version ${version}`);
    this.name = 'UnknownVersionError';
  }
}

export class InvalidStageTransitionError extends RegistryError {
  constructor(readonly model: string, readonly version: number, readonly from: string, readonly to: string, why: string) {
    super(`cannot move ${model} version ${version} from ${from} to ${to}: ${why}`);
    this.name = 'InvalidStageTransitionError';
  }
}

export class InvalidRegistryInputError extends RegistryError {
  constructor(readonly field: string, why: string) {
    super(`invalid ${field}: ${why}`);
    this.name = 'InvalidRegistryInputError';
  }
}

export class DatabaseUrlError extends RegistryError {
  constructor(url: string, why: string) {
    // The URL may carry a password: show only its scheme.
    super(`unsupported database URL (${url.split(':')[0]}:...): ${why}`);
    this.name = 'DatabaseUrlError';
  }
}
