// The command table. Adding a subcommand is one file exporting a CliCommand plus one line here;
// commands load lazily, so `flashgraph plan` never loads a native addon.
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
