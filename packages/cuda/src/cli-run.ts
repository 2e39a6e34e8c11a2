// Argument handling of `flashgraph-cuda` (in-process, so tests drive it without a child).
// Exit codes: 0 done, 1 the build failed or a tool is missing, 2 a usage error (before any work).
import { InvalidArgumentError, isFlashgraphError } from '@flashgraph/errors';
import { buildNative } from './build-native.js';

export interface CliIo {
  stdout(line: string): void;
  stderr(line: string): void;
}

const HELP = `Usage: npx @flashgraph/cuda build-native [options]

Builds the native addon of every installed @flashgraph package from the sources in its tarball
and puts it where the package loads it (<package>/prebuilds/<platform>-<arch>/). Needs CMake >=
3.24, nvcc (CUDA >= 12.8) and a C++ compiler. Progress goes to stderr, the built paths to stdout.

Options:
  --only <package>   build only this package (repeatable), e.g. --only @flashgraph/fa3
  --jobs <n>         parallel compile jobs (default: $FLASHGRAPH_BUILD_JOBS or the CPU count)
  --debug            Debug build (default Release)
  -h, --help         show this help

Environment: CUDACXX / CUDA_HOME / CUDA_PATH (nvcc), CXX (the C++ compiler),
FLASHGRAPH_CUDA_ARCHITECTURES (e.g. "90a-real"; default per addon).`;

/** A usage error: the flag, the value and what it takes (the CLI's InvalidArgumentError). */
function usage(flag: string, value: unknown, allowed: string, problem = 'invalid value'): InvalidArgumentError {
  return new InvalidArgumentError({ code: 'invalid_value', path: flag, value, allowed, problem });
}

interface Parsed {
  only: string[];
  jobs: number | undefined;
  debug: boolean;
}

function parse(args: readonly string[]): Parsed {
  const out: Parsed = { only: [], jobs: undefined, debug: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith('-')) throw usage(a, v, 'a value after the flag', 'needs a value');
      return v;
    };
    if (a === '--only') {
      const name = value();
      if (!/^@flashgraph\/[a-z0-9-]+$/.test(name)) throw usage(a, name, 'a package name such as @flashgraph/fa3');
      out.only.push(name);
    } else if (a === '--jobs') {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 1024) throw usage(a, v, 'integer in [1, 1024]');
      out.jobs = n;
    } else if (a === '--debug') out.debug = true;
    else throw usage(a, a, 'one of --only, --jobs, --debug, --help', 'unknown option');
  }
  return out;
}

/** Runs `flashgraph-cuda <argv...>`; returns the exit code and never throws. */
export function runCudaCli(argv: readonly string[], io: CliIo): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? io.stderr : io.stdout)(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'build-native') {
    io.stderr(`flashgraph-cuda: unknown command ${JSON.stringify(command)}. Run 'npx @flashgraph/cuda --help'.`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(HELP);
    return 0;
  }
  let parsed: Parsed;
  try {
    parsed = parse(rest);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    io.stderr(`flashgraph-cuda build-native: ${error.message}. Run with --help for the options.`);
    return 2;
  }
  try {
    const built = buildNative({
      only: parsed.only,
      debug: parsed.debug,
      ...(parsed.jobs === undefined ? {} : { jobs: parsed.jobs }),
      log: io.stderr,
    });
    for (const b of built) io.stdout(b.path);
    io.stderr(`build-native: done, ${built.length} addon(s) built`);
    return 0;
  } catch (error) {
    const text = isFlashgraphError(error) ? error.message : String((error as Error)?.stack ?? error);
    io.stderr(`flashgraph-cuda build-native: ${text}`);
    return 1;
  }
}
