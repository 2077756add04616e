/** A CLI sub-command: `edgeloom <name> ...`. */
export interface Command {
  readonly name: string;
  /** One line for `edgeloom --help`. */
  readonly summary: string;
  /** Full usage text for `edgeloom <name> --help`. */
  readonly usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}
