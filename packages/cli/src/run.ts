// The `flashgraph` dispatcher: global flags, the command table, exit codes. No CLI framework.
import { version } from '../package.json';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './command.js';
import { type CommandEntry, commands } from './commands.js';

function topLevelHelp(table: Readonly<Record<string, CommandEntry>>): string {
  const names = Object.keys(table);
  const width = Math.max(...names.map((name) => name.length)) + 4;
  return [
    'flashgraph: paged attention inside full CUDA graphs for Node.js LLM runtimes',
    '',
    'Usage: flashgraph <command> [options]',
    '',
    'Commands:',
    ...names.map((name) => `  ${name.padEnd(width)}${table[name]!.summary}`),
    '',
    'Options:',
    '  -h, --help     show this help',
    '  -v, --version  print the version',
    '',
    "Run 'flashgraph <command> --help' for a command's options.",
  ].join('\n');
}

/** Errors of the flashgraph packages carry a string `code` and a message that says what to do. */
function isTypedError(error: unknown): error is Error & { code: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

/** Runs `flashgraph <argv...>` and returns the exit code; never throws. */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  table: Readonly<Record<string, CommandEntry>> = commands,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(topLevelHelp(table));
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(topLevelHelp(table));
    return EXIT_OK;
  }
  if (name === '--version' || name === '-v') {
    io.stdout(version);
    return EXIT_OK;
  }
  const entry = Object.hasOwn(table, name) ? table[name] : undefined;
  if (entry === undefined) {
    io.stderr(
      `flashgraph: unknown command '${name}'. Commands: ${Object.keys(table).join(', ')}. Run 'flashgraph --help'.`,
    );
    return EXIT_USAGE;
  }
  try {
    const command = await entry.load();
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      const hint = `Run 'flashgraph ${name} --help' for the options.`;
      // A one-line problem stays one line; a multi-line report gets the hint below it.
      const message = error.message.includes('\n')
        ? `${error.message}\n${hint}`
        : `${error.message.replace(/\.?$/, '.')} ${hint}`;
      io.stderr(`flashgraph ${name}: ${message}`);
      return EXIT_USAGE;
    }
    if (isTypedError(error)) {
      // A typed error already says what is wrong and what to do: no stack.
      io.stderr(`flashgraph ${name}: failed: ${error.message}`);
      return EXIT_FAILURE;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr(`flashgraph ${name}: failed: ${detail}`);
    return EXIT_FAILURE;
  }
}
