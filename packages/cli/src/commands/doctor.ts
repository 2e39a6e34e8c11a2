// `flashgraph doctor`: what this machine can run, and what to do about what it can't.
// Exit 0 when the engine can run (on CUDA, or CPU-only with a clear notice); 1 when an installed
// native addon is broken (it exists but fails to load).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cudaStatus } from '@flashgraph/cuda';
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

function probeAddon(pkg: string, file: string): { status: AddonReport['status']; path?: string; detail?: string } {
  const require = createRequire(import.meta.url);
  const candidates: string[] = [];
  if (process.env.FLASHGRAPH_NATIVE_DIR) candidates.push(join(process.env.FLASHGRAPH_NATIVE_DIR, file));
  try {
    candidates.push(join(dirname(require.resolve(`@flashgraph/${pkg}/package.json`)), 'prebuilds', 'linux-x64', file));
  } catch {
    // not installed beside us (e.g. a bundled run): only FLASHGRAPH_NATIVE_DIR applies
  }
  const path = candidates.find((c) => existsSync(c));
  if (!path)
    return {
      status: 'missing',
      detail: `looked in ${candidates.join(', ') || '(no location: set FLASHGRAPH_NATIVE_DIR)'}`,
    };
  try {
    require(path);
    return { status: 'loaded', path };
  } catch (err) {
    return { status: 'broken', path, detail: (err as Error).message.split('\n')[0] };
  }
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
  for (const a of addons) {
    if (a.status === 'missing')
      advice.push(
        `${a.file} is missing: build it with \`npx -y pnpm@10.34.9 --filter ${a.package} build\` (needs nvcc >= 12.8 and cmake), or set FLASHGRAPH_NATIVE_DIR to a folder that holds it.`,
      );
    if (a.status === 'broken')
      advice.push(
        `${a.file} exists but does not load (${a.detail}): rebuild it with \`npx -y pnpm@10.34.9 --filter ${a.package} build\` for this Node.js (${process.version}).`,
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
