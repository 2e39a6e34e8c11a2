// Typed errors of @flashgraph/models, all FlashgraphErrors: a stable `code`, where the problem is
// (the file, and the tensor or config field), the offending value, what is allowed, and a fix.
import { FlashgraphError } from '@flashgraph/errors';

export interface ModelsErrorDetails {
  /** The config field, header field or argument at fault. */
  readonly field?: string;
  readonly value?: unknown;
  /** What would have been accepted. */
  readonly allowed?: string;
  /** What to change. */
  readonly fix?: string;
  readonly cause?: unknown;
}

function init(code: string, path: string, problem: string, d: ModelsErrorDetails) {
  return {
    code,
    problem,
    path,
    ...('value' in d ? { value: d.value } : {}),
    ...(d.allowed === undefined ? {} : { allowed: d.allowed }),
    ...(d.fix === undefined ? {} : { fix: d.fix }),
    ...(d.cause === undefined ? {} : { cause: d.cause }),
  };
}

function where(file: string, tensor: string | null, field: string | undefined): string {
  return `${file}${tensor === null ? '' : ` tensor '${tensor}'`}${field ? ` ${field}` : ''}`;
}

/** Base class of the errors @flashgraph/models throws on purpose (argument errors included). */
export class ModelsError extends FlashgraphError {
  constructor(code: string, path: string, problem: string, details: ModelsErrorDetails = {}) {
    super(init(code, path, problem, details));
  }
}

/** A safetensors file, shard index or tensor that cannot be read as the model needs it. */
export class CheckpointError extends ModelsError {
  /** The file at fault (relative to the model folder), or the folder. */
  readonly file: string;
  /** The tensor at fault, or null when the problem is the file itself. */
  readonly tensor: string | null;
  readonly field: string | undefined;
  constructor(code: string, file: string, tensor: string | null, problem: string, details: ModelsErrorDetails = {}) {
    super(code, where(file, tensor, details.field), problem, details);
    this.file = file;
    this.tensor = tensor;
    this.field = details.field;
  }
}

/** A config.json / generation_config.json this package cannot run; `allowed` lists what is supported. */
export class ModelConfigError extends ModelsError {
  readonly file: string;
  readonly field: string | undefined;
  constructor(code: string, file: string, problem: string, details: ModelsErrorDetails = {}) {
    super(code, where(file, null, details.field), problem, details);
    this.file = file;
    this.field = details.field;
  }
}

/** A tokenizer.json / tokenizer_config.json that cannot be used, or bad input to the tokenizer. */
export class TokenizerError extends ModelsError {
  readonly file: string;
  readonly field: string | undefined;
  constructor(code: string, file: string, problem: string, details: ModelsErrorDetails = {}) {
    super(code, where(file, null, details.field), problem, details);
    this.file = file;
    this.field = details.field;
  }
}
