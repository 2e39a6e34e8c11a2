// What every `flashgraph` subcommand implements, and how it reports bad input.
import { FlashgraphError } from '@flashgraph/errors';
import type { ProgressSink } from './report/progress-line.js';

/** Where a command writes; injectable so tests capture output without a child process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Raw stdout text without a newline (streamed output); commands fall back to `stdout` lines. */
  write?(text: string): void;
  /** Directory that relative paths (e.g. `--config`) are resolved against. */
  cwd: string;
  /** Where status lines are drawn (a terminal's stderr); none when left out. */
  progress?: ProgressSink;
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

export interface UsageProblem {
  /** The flag (`--heads-kv`) or file (`--config x.json`) at fault. */
  flag?: string;
  /** What is wrong, as a clause: `must divide --heads-q`. */
  problem: string;
  value?: unknown;
  allowed?: string;
  fix?: string;
  cause?: unknown;
}

/**
 * Bad command-line input (code `usage`): the runner prints its one-line message and exits with 2.
 * Commands throw it while reading their flags, before any work starts.
 */
export class UsageError extends FlashgraphError {
  /** The flag at fault, when there is one. */
  readonly flag: string | undefined;

  constructor(problem: UsageProblem | string) {
    const p = typeof problem === 'string' ? { problem } : problem;
    super({
      code: 'usage',
      problem: p.problem,
      ...(p.flag === undefined ? {} : { path: p.flag }),
      ...('value' in p ? { value: p.value } : {}),
      ...(p.allowed === undefined ? {} : { allowed: p.allowed }),
      ...(p.fix === undefined ? {} : { fix: p.fix }),
      ...(p.cause === undefined ? {} : { cause: p.cause }),
    });
    this.flag = p.flag;
  }
}

/**
 * node:util parseArgs errors as one UsageError naming the flag: its messages go on to explain
 * positionals after '--', which only confuses a mistyped flag.
 */
export function parseArgsUsageError(err: Error): UsageError {
  // Their first sentence already names the flag: "Unknown option '--nope'".
  return new UsageError(err.message.split(/\.\s/)[0]?.replace(/\.$/, '') ?? err.message);
}
