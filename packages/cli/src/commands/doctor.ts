// `flashgraph doctor`: what this machine can run, and what to do about what it can't.
// Exit 0 when the engine can run (on CUDA, or CPU-only with a clear notice); 1 when an installed
// native addon is broken (it exists but fails to load).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { createNativeAddonLoader, cudaStatus, NATIVE_BUILD_COMMAND } from '@flashgraph/cuda';
import { cudaUnavailableReason, syntheticDecoder } from '@flashgraph/engine';
import { formatBytes } from '@flashgraph/errors';
import { modelsCudaStatus } from '@flashgraph/models';
import { type CliCommand, type CliIo, EXIT_FAILURE, EXIT_OK } from '../command.js';
import { parseCommandFlags } from './shared.js';

const ADDONS = [
  { pkg: 'cuda', file: 'flashgraph_cuda.node', role: 'CUDA runtime: streams, memory, graphs' },
  { pkg: 'fa3', file: 'flashgraph_fa3.node', role: 'FA3 paged attention kernels' },
  { pkg: 'engine', file: 'flashgraph_engine.node', role: 'device sampler, synthetic decoder kernels' },
  { pkg: 'models', file: 'flashgraph_models.node', role: 'Llama-family model kernels, cuBLASLt binding' },
] as const;

export const DOCTOR_HELP = `Usage: flashgraph doctor [--json]

Checks the GPU, the NVIDIA driver, the CUDA runtime and the native addons of every flashgraph
package, and says what to do about anything missing. Exit code 0 when the engine can run (on a
GPU, or CPU-only with a notice), 1 when an addon is present but broken.`;

export interface AddonReport {
  package: string;
  file: string;
  role: string;
  status: 'loaded' | 'missing' | 'broken';
  path?: string;
  detail?: string;
  /** The platform package that provides it on this machine, when it was left out or is another version. */
  install?: string;
}

/** `doctor --json`'s format version: bumped when a field changes meaning or goes away. */
export const DOCTOR_SCHEMA_VERSION = 1;

export interface DoctorReport {
  schemaVersion: typeof DOCTOR_SCHEMA_VERSION;
  node: string;
  platform: string;
  gpu: {
    available: boolean;
    reason?: string;
    driverVersion?: number;
    runtimeVersion: number;
    devices: { index: number; name: string; computeCapability: string; totalMemory: number }[];
  };
  addons: AddonReport[];
  /** cuBLASLt, loaded at run time by the models' CUDA backend; null when the models addon did not load. */
  cublasLt: { available: boolean; path?: string; version?: number; reason?: string } | null;
  /** Whether Hugging Face models (`flashgraph generate`) can run on CUDA here, and why not. */
  modelsCuda: { available: boolean; reason?: string };
  backend: 'cuda' | 'cpu';
  backendReason: string;
  advice: string[];
}

/**
 * The entry module of an installed @flashgraph package, found from this package or from one of its
 * @flashgraph dependencies (fa3 is the engine's dependency, not ours); undefined when not installed
 * beside us (a bundled run).
 */
function packageEntry(name: string): string | undefined {
  const ours = createRequire(import.meta.url);
  for (const from of [undefined, '@flashgraph/engine', '@flashgraph/models']) {
    try {
      return from === undefined ? ours.resolve(name) : createRequire(ours.resolve(from)).resolve(name);
    } catch {
      // not resolvable from there
    }
  }
  return undefined;
}

/**
 * The addon as its package loads it: the package's own loader (createNativeAddonLoader with the
 * package's entry as moduleUrl), so the report follows the same order: $FLASHGRAPH_NATIVE_DIR, a
 * build in the package's prebuilds, the platform package.
 */
function probeAddon(pkg: string, file: string): Pick<AddonReport, 'status' | 'path' | 'detail' | 'install'> {
  const entry = packageEntry(`@flashgraph/${pkg}`);
  const load = createNativeAddonLoader<unknown>({
    file,
    moduleUrl: entry ? pathToFileURL(entry).href : import.meta.url,
    buildCommand: `npx -y pnpm@10.34.9 --filter @flashgraph/${pkg} build`,
  })();
  if ('path' in load) return { status: 'loaded', path: load.path };
  const { attempts, platformPackage } = load.error;
  // Broken: a file that exists and did not load (a glibc too old, a damaged file, a crash).
  const broken = attempts.filter((a) => a.problem !== 'missing' && existsSync(a.path));
  const where = attempts.map((a) => `${a.path} (${a.problem})`).join('; ');
  // The platform package is published for this machine but was left out (or is another version).
  const install = attempts.some(
    (a) => a.path === `${platformPackage}/${file}` && !a.problem.startsWith('not published'),
  );
  return {
    status: broken.length > 0 ? 'broken' : 'missing',
    ...(broken.length > 0 ? { path: broken[0]?.path } : {}),
    detail: broken.length > 0 ? broken.map((a) => a.problem).join('; ') : `looked in ${where}`,
    ...(install && platformPackage !== undefined ? { install: platformPackage } : {}),
  };
}

export function doctorReport(): DoctorReport {
  const s = cudaStatus();
  const addons: AddonReport[] = ADDONS.map((a) => ({
    package: `@flashgraph/${a.pkg}`,
    file: a.file,
    role: a.role,
    ...probeAddon(a.pkg, a.file),
  }));
  const why = cudaUnavailableReason(syntheticDecoder(), 0);
  const models = modelsCudaStatus();
  const lt = models.cublasLt;
  const advice: string[] = [];
  if (lt && !lt.available) advice.push(`cuBLASLt was not found (the models' CUDA backend needs it): ${lt.install}`);
  const build = (pkg: string) =>
    `\`${NATIVE_BUILD_COMMAND}\` (needs nvcc >= 12.8, CMake >= 3.24 and a C++ compiler; in the flashgraph repository: \`npx -y pnpm@10.34.9 --filter ${pkg} build\`)`;
  for (const a of addons) {
    if (a.status === 'missing') {
      const install = a.install
        ? `install ${a.install} (this platform's prebuilt addons, an optional dependency), `
        : '';
      advice.push(
        `${a.file} was not found: ${install}build it with ${build(a.package)}, or set FLASHGRAPH_NATIVE_DIR to a folder that holds it.`,
      );
    }
    if (a.status === 'broken')
      advice.push(
        `${a.file} exists but does not load here (${a.detail}): build it for this machine with ${build(a.package)}.`,
      );
  }
  if (!s.available) {
    const r = s.reason ?? '';
    if (/driver/i.test(r))
      advice.push(
        `No usable NVIDIA driver: install one that supports CUDA ${version(s.runtimeVersion || 12080)} or newer (\`nvidia-smi\` should list the GPU).`,
      );
    else if (/no CUDA|device/i.test(r))
      advice.push('No CUDA device is visible: check `nvidia-smi` and CUDA_VISIBLE_DEVICES.');
    advice.push(
      'Until then flashgraph runs on its CPU backend: `flashgraph bench` and `flashgraph simulate` work, with small models and CPU timings.',
    );
  } else if (why) {
    advice.push(`CUDA is present but the engine can't use it: ${why}.`);
  }
  return {
    schemaVersion: DOCTOR_SCHEMA_VERSION,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    gpu: {
      available: s.available,
      ...(s.reason ? { reason: s.reason } : {}),
      ...(s.driverVersion ? { driverVersion: s.driverVersion } : {}),
      runtimeVersion: s.runtimeVersion,
      devices: s.devices.map((d) => ({
        index: d.index,
        name: d.name,
        computeCapability: d.computeCapability,
        totalMemory: d.totalMemory,
      })),
    },
    addons,
    cublasLt: lt
      ? {
          available: lt.available,
          ...(lt.path ? { path: lt.path } : {}),
          ...(lt.version ? { version: lt.version } : {}),
          ...(lt.reason ? { reason: lt.reason } : {}),
        }
      : null,
    modelsCuda: { available: models.available, ...(models.reason ? { reason: models.reason } : {}) },
    backend: why ? 'cpu' : 'cuda',
    backendReason: why === null ? 'CUDA device 0 is usable' : s.available ? why : 'no usable CUDA device, see above',
    advice,
  };
}

function version(v: number | undefined): string {
  return v ? `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}` : 'none';
}

export function formatDoctor(r: DoctorReport): string {
  const ok = (b: boolean) => (b ? 'ok  ' : 'no  ');
  const lines = [
    'flashgraph doctor',
    '',
    `${ok(true)}node ${r.node} on ${r.platform}`,
    `${ok(r.gpu.driverVersion !== undefined)}NVIDIA driver: ${r.gpu.driverVersion ? `supports CUDA ${version(r.gpu.driverVersion)}` : 'not found'}`,
    `${ok(r.gpu.runtimeVersion > 0)}CUDA runtime (linked into the addons): ${version(r.gpu.runtimeVersion)}`,
  ];
  if (r.gpu.devices.length === 0) lines.push(`no  GPU: ${r.gpu.reason ?? 'none visible'}`);
  for (const d of r.gpu.devices) {
    lines.push(
      `${ok(d.computeCapability.startsWith('9.'))}GPU ${d.index}: ${d.name}, compute capability ${d.computeCapability}, ${formatBytes(d.totalMemory)}`,
    );
  }
  for (const a of r.addons) {
    lines.push(`${ok(a.status === 'loaded')}${a.package}: ${a.file} ${a.status}${a.path ? ` (${a.path})` : ''}`);
  }
  if (r.cublasLt) {
    lines.push(
      `${ok(r.cublasLt.available)}cuBLASLt: ${r.cublasLt.available ? `${r.cublasLt.path} (version ${r.cublasLt.version})` : 'not found'}`,
    );
  }
  lines.push(
    `${ok(r.modelsCuda.available)}Hugging Face models on CUDA: ${r.modelsCuda.available ? 'yes' : `no (${r.modelsCuda.reason})`}`,
  );
  lines.push('', `backend: ${r.backend === 'cuda' ? 'CUDA' : 'CPU only'} (${r.backendReason})`);
  if (r.backend === 'cpu') {
    lines.push(
      'CPU-only machine: the engine, `flashgraph bench` and `flashgraph simulate` run on the CPU backend (fp32 reference kernels, small models); GPU speedups need an NVIDIA Hopper GPU.',
    );
  }
  if (r.advice.length) lines.push('', 'What to do:', ...r.advice.map((a) => `  - ${a}`));
  return lines.join('\n');
}

export const doctorCommand: CliCommand = {
  run(argv: readonly string[], io: CliIo): number {
    const values = parseCommandFlags(
      argv,
      { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      DOCTOR_HELP,
      io,
    );
    if (!values) return EXIT_OK;
    const report = doctorReport();
    io.stdout(values.json ? JSON.stringify(report, null, 2) : formatDoctor(report));
    return report.addons.some((a) => a.status === 'broken') ? EXIT_FAILURE : EXIT_OK;
  },
};
