// @flashgraph/cli: the `flashgraph` command. See README.md. The bin is dist/cli.js; runCli runs
// the same command in-process (tests, embedding).

export { type CliCommand, type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './command.js';
export { runCli } from './run.js';
