// The last check before loading: every tensor the architecture needs is present with the shape
// it needs. Extra tensors (rotary inv_freq buffers of old checkpoints, say) are ignored.
import { CheckpointError } from '../errors.js';
import type { Checkpoint } from './index.js';

export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

export function checkTensorSpecs(checkpoint: Checkpoint, specs: readonly TensorSpec[]): void {
  for (const spec of specs) {
    const info = checkpoint.tensors.get(spec.name);
    if (!info) {
      throw new CheckpointError(
        'missing_tensor',
        checkpoint.dir,
        spec.name,
        'the model needs this tensor but the checkpoint lacks it',
        {
          allowed: `shape ${JSON.stringify(spec.shape)}`,
          fix: 'the checkpoint is incomplete or for another architecture; check config.json against the weights',
        },
      );
    }
    const same = info.shape.length === spec.shape.length && info.shape.every((d, i) => d === spec.shape[i]);
    if (!same) {
      throw new CheckpointError('wrong_shape', info.file, spec.name, 'the tensor has the wrong shape for config.json', {
        field: 'shape',
        value: info.shape,
        allowed: JSON.stringify(spec.shape),
        fix: 'config.json and the weights disagree; use the config.json saved with these weights',
      });
    }
  }
}
