/**
 * Errors a person can act on. The CLI prints `message` (and `hint`) without a stack trace;
 * anything else is a bug and prints the stack when ETAOPS_DEBUG is set.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    /** Process exit code: 2 for usage mistakes, 1 for failures of the requested work. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint, 2);
    this.name = 'UsageError';
  }
}
