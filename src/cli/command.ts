/** One `etaops` sub-command: a thin shell over the modules in src/. */
export interface Command {
  name: string;
  summary: string;
  /** Full help text printed by `etaops <name> --help`. */
  usage: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}
