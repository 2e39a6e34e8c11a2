// What every `flashgraph` subcommand implements, and how it reports bad input.

/** Where a command writes; injectable so tests capture output without a child process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Raw stdout text without a newline (streamed output); commands fall back to `stdout` lines. */
  write?(text: string): void;
  /** Directory that relative paths (e.g. `--config`) are resolved against. */
  cwd: string;
}

export interface CliCommand {
  /** Parses `argv` (the arguments after the command name), runs, returns the exit code. */
  run(argv: readonly string[], io: CliIo): Promise<number> | number;
}

/** Exit codes shared by all commands. */
export const EXIT_OK = 0;
/** Something failed that is not the user's input (a bug, a device failure). */
export const EXIT_FAILURE = 1;
/** Invalid input: unknown flag, bad value, invalid configuration. */
export const EXIT_USAGE = 2;

/** Bad command-line input; the runner prints the message and a `--help` hint and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
