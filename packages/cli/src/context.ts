/** State shared by the program and its commands for one run of the CLI. */
export interface CliContext {
  /** Set from the running command's --json option, so errors are printed as JSON too. */
  json: boolean;
  /** A command that finishes normally but must report failure (e.g. validate with failing checks) sets this. */
  exitCode: number;
}
