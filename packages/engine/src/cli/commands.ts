// The command table. Adding a subcommand is one file exporting a CliCommand plus one line here.
// A command's code runs only when it is chosen; but the bundle hoists static imports of other
// packages, so a command that needs a native-backed package (@flashgraph/cuda, fa3, engine's
// addon) should `await import()` it inside run(), keeping `flashgraph plan --help` addon-free.
import type { CliCommand } from './command';

export interface CommandEntry {
  /** One line for `flashgraph --help`. */
  summary: string;
  load(): Promise<CliCommand>;
}

export const commands: Readonly<Record<string, CommandEntry>> = {
  plan: {
    summary: 'Resolve a CUDA graph configuration and print the capture plan',
    load: async () => (await import('./plan-command')).planCommand,
  },
};
