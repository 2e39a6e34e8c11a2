// Which backend `backend: 'auto' | 'cuda' | 'cpu'` resolves to, and why, in words a user can act on.
import { cudaStatus } from '@flashgraph/cuda';
import { EngineError } from './errors.js';
import type { BackendKind, Model } from './model.js';
import { loadNative } from './native.js';

export type BackendRequest = 'auto' | BackendKind;

export interface BackendChoice {
  readonly kind: BackendKind;
  readonly reason: string;
}

/** flashgraph's kernels are built for sm_90a, which runs on compute capability 9.x (Hopper) only. */
export const REQUIRED_CC_MAJOR = 9;

/** Why CUDA can't run this model here, or null when it can. */
export function cudaUnavailableReason(model: Model, device: number): string | null {
  if (!model.backends.includes('cuda')) return `model ${model.name} has no CUDA kernels`;
  let status: ReturnType<typeof cudaStatus>;
  try {
    status = cudaStatus();
  } catch (err) {
    return `@flashgraph/cuda could not report the device: ${(err as Error).message}`;
  }
  if (!status.available) return `no usable CUDA device (${status.reason ?? 'unknown reason'})`;
  const dev = status.devices?.[device];
  if (!dev) return `CUDA device ${device} does not exist (${status.devices?.length ?? 0} visible)`;
  const major = Number.parseInt(String(dev.computeCapability), 10);
  if (Number.isFinite(major) && major !== REQUIRED_CC_MAJOR) {
    return `${dev.name} has compute capability ${dev.computeCapability}; flashgraph's kernels are built for sm_90a (Hopper, 9.x)`;
  }
  const native = loadNative();
  if (!native.addon) return native.reason;
  return null;
}

export function selectBackend(request: BackendRequest, model: Model, device: number): BackendChoice {
  if (request === 'cpu') {
    if (!model.backends.includes('cpu')) {
      throw new EngineError(
        'backend_unavailable',
        `backend 'cpu': model ${model.name} has no CPU kernels; use backend 'cuda'`,
      );
    }
    return { kind: 'cpu', reason: "backend 'cpu' was requested" };
  }
  const why = cudaUnavailableReason(model, device);
  if (request === 'cuda') {
    if (why)
      throw new EngineError(
        'backend_unavailable',
        `backend 'cuda' is not available: ${why}; use backend 'auto' or 'cpu' to run on the CPU`,
      );
    return { kind: 'cuda', reason: "backend 'cuda' was requested" };
  }
  if (!why) return { kind: 'cuda', reason: `CUDA device ${device} is available` };
  if (!model.backends.includes('cpu')) {
    throw new EngineError(
      'backend_unavailable',
      `no backend can run model ${model.name}: CUDA: ${why}; the model has no CPU kernels`,
    );
  }
  return { kind: 'cpu', reason: `running on the CPU backend: ${why}` };
}
