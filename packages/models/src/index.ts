// @flashgraph/models: Llama-family models from Hugging Face checkpoints for the flashgraph engine.

export type { AsyncDisposable } from './async-disposable.js';
export {
  CHECKPOINT_DTYPES,
  type Checkpoint,
  type CheckpointDtype,
  checkTensorSpecs,
  openCheckpoint,
  type SafetensorsTensor,
  type TensorInfo,
  type TensorSpec,
  writeSafetensors,
} from './checkpoint/index.js';
export { CheckpointError, ModelConfigError, ModelsError, type ModelsErrorDetails, TokenizerError } from './errors.js';
export {
  LLAMA_ARCHITECTURES,
  type LlamaArchitecture,
  type LlamaConfig,
  parseLlamaConfig,
  type RopeScaling,
  SUPPORTED_HEAD_DIMS,
  SUPPORTED_ROPE_TYPES,
} from './llama/config.js';
export { type ModelsCudaStatus, modelsCudaStatus } from './llama/cuda/status.js';
export { type HfModel, type LoadHfModelOptions, loadHfModel, type WeightLoadProgress } from './llama/load.js';
export { ropeInverseFrequencies, ropePositionScale } from './llama/rope.js';
export { llamaTensorSpecs } from './llama/tensors.js';
export { type TinyModelOptions, writeTinyModel } from './tiny-model.js';
export { type ChatMessage, type Detokenizer, HfTokenizer, SUPPORTED_TOKENIZER_MODELS } from './tokenizer.js';
