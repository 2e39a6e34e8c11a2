// The one mapping from a model's sliding window to the attention kernels' window. A model with
// slidingWindow W lets the query at position p see keys p-W+1..p (transformers' convention);
// FA3 (and @flashgraph/fa3's referenceAttention) take `window: [left, right]`, keys
// p-left..p+right, -1 unbounded. So W maps to [W - 1, 0]; no window to `undefined`.
import { checkInt, INT32_MAX } from '@flashgraph/errors';
import type { ModelShape } from './model.js';

export function attentionWindow(shape: Pick<ModelShape, 'slidingWindow'>): [number, number] | undefined {
  const w = shape.slidingWindow;
  if (w === undefined || w === null) return undefined;
  const size = checkInt('model.shape.slidingWindow', w, { min: 1, max: INT32_MAX });
  return [size - 1, 0];
}
