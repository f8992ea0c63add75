import { UserError } from '../../cli/errors.js';

/**
 * A data source that cannot be read as a DoorDash data set: wrong header, a row with the wrong
 * number of fields, a truncated file, an unreachable source. The message names the source, the
 * line (or query row) and the field, so a person can find and fix it; the CLI prints it
 * without a stack trace.
 */
export class DataError extends UserError {
  constructor(
    message: string,
    hint?: string,
    /** 1-based source line (header = 1), when the problem is at one line. */
    readonly line?: number,
    /** The column concerned, when one is. */
    readonly column?: string,
  ) {
    super(message, hint, 1);
    this.name = 'DataError';
  }
}

/** Hides the password of a connection URL before it goes into a message or log. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^@/?#]*@/i, '$1***@');
}
