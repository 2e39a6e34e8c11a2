// The `flashgraph` dispatcher: global flags, the command table, exit codes. No CLI framework:
// node:util parseArgs reads each command's flags, and the dispatch is a table lookup; commander or
// cac would add a dependency to replace about forty lines.
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
    '  --verbose      with any command: print the stack trace of a failure',
    '',
    "Run 'flashgraph <command> --help' for a command's options.",
  ].join('\n');
}

/** `--verbose` may stand anywhere before a `--`; it is the runner's, not the command's. */
function takeVerbose(argv: readonly string[]): { verbose: boolean; args: string[] } {
  const end = argv.indexOf('--');
  const head = end < 0 ? argv : argv.slice(0, end);
  const tail = end < 0 ? [] : argv.slice(end);
  const args = head.filter((a) => a !== '--verbose');
  return { verbose: args.length !== head.length, args: [...args, ...tail] };
}

/** One line: messages that span lines (a config report, an engine error) are joined. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Runs `flashgraph <argv...>` and returns the exit code; never throws. */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  table: Readonly<Record<string, CommandEntry>> = commands,
): Promise<number> {
  const { verbose, args } = takeVerbose(argv);
  const [name, ...rest] = args;
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
      io.stderr(`flashgraph ${name}: ${oneLine(error.message)} (see 'flashgraph ${name} --help')`);
      if (verbose && error.stack) io.stderr(error.stack);
      return EXIT_USAGE;
    }
    if (verbose) {
      io.stderr(
        `flashgraph ${name}: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    } else {
      const message = error instanceof Error ? error.message : String(error);
      io.stderr(`flashgraph ${name}: failed: ${oneLine(message)} (--verbose prints the stack trace)`);
    }
    return EXIT_FAILURE;
  }
}
