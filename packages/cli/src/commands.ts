// The command table. Adding a subcommand is one file exporting a CliCommand plus one line here.
// A command's code runs only when it is chosen; but the bundle hoists static imports of other
// packages, so a command that needs a native-backed package (@flashgraph/cuda, fa3, engine's
// addon) should `await import()` it inside run(), keeping `flashgraph plan --help` addon-free.
import type { CliCommand } from './command.js';

export interface CommandEntry {
  /** One line for `flashgraph --help`. */
  summary: string;
  load(): Promise<CliCommand>;
}

export const commands: Readonly<Record<string, CommandEntry>> = {
  plan: {
    summary: 'Resolve a CUDA graph configuration and print the capture plan',
    load: async () => (await import('./commands/plan.js')).planCommand,
  },
  doctor: {
    summary: 'Check the GPU, driver, CUDA runtime and native addons, and say what to do',
    load: async () => (await import('./commands/doctor.js')).doctorCommand,
  },
  bench: {
    summary: 'Decode step time of the synthetic model: eager vs piecewise vs full graphs',
    load: async () => (await import('./commands/bench.js')).benchCommand,
  },
  generate: {
    summary: 'Generate text with a Hugging Face model folder (Llama, Mistral, Qwen2, Qwen3)',
    load: async () => (await import('./commands/generate.js')).generateCommand,
  },
  'make-tiny-model': {
    summary: 'Write a tiny random-weight model folder to try generate without a download',
    load: async () => (await import('./commands/make-tiny-model.js')).makeTinyModelCommand,
  },
  simulate: {
    summary: 'Run a random workload through engine.run(): throughput, latency, padding',
    load: async () => (await import('./commands/simulate.js')).simulateCommand,
  },
};
