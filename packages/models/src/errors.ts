// Typed errors of @flashgraph/models. Each carries a stable `code`, where the problem is (the
// file, the config field or the tensor), the offending value, what is allowed, and a fix.

export interface ModelsErrorDetails {
  /** The config field, JSON path or argument at fault ('' when the whole input is). */
  readonly path?: string;
  readonly value?: unknown;
  /** What would have been accepted. */
  readonly allowed?: string;
  /** What to change. */
  readonly fix?: string;
  readonly cause?: unknown;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

function compose(summary: string, d: ModelsErrorDetails): string {
  const parts = [summary];
  if ('value' in d && d.value !== undefined) parts.push(`got ${show(d.value)}`);
  if (d.allowed) parts.push(`allowed: ${d.allowed}`);
  if (d.fix) parts.push(`fix: ${d.fix}`);
  return parts.join('; ');
}

/** Base class of every error @flashgraph/models throws on purpose. */
export class ModelsError extends Error {
  readonly code: string;
  readonly path: string;
  readonly value: unknown;
  readonly allowed: string | undefined;
  readonly fix: string | undefined;
  constructor(code: string, summary: string, details: ModelsErrorDetails = {}) {
    super(compose(summary, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ModelsError';
    this.code = code;
    this.path = details.path ?? '';
    this.value = details.value;
    this.allowed = details.allowed;
    this.fix = details.fix;
  }
}

/** A safetensors file, shard index or tensor that cannot be read as the model needs it. */
export class CheckpointError extends ModelsError {
  /** The file at fault. */
  readonly file: string;
  /** The tensor at fault, or null when the problem is the file itself. */
  readonly tensor: string | null;
  constructor(code: string, file: string, tensor: string | null, summary: string, details: ModelsErrorDetails = {}) {
    super(code, `${file}${tensor === null ? '' : ` tensor '${tensor}'`}: ${summary}`, details);
    this.name = 'CheckpointError';
    this.file = file;
    this.tensor = tensor;
  }
}

/** A config.json / generation_config.json this package cannot run; the message lists what is supported. */
export class ModelConfigError extends ModelsError {
  readonly file: string;
  constructor(code: string, file: string, summary: string, details: ModelsErrorDetails = {}) {
    super(code, `${file}${details.path ? ` ${details.path}` : ''}: ${summary}`, details);
    this.name = 'ModelConfigError';
    this.file = file;
  }
}

/** A tokenizer.json / tokenizer_config.json that cannot be used, or bad input to the tokenizer. */
export class TokenizerError extends ModelsError {
  readonly file: string;
  constructor(code: string, file: string, summary: string, details: ModelsErrorDetails = {}) {
    super(code, `${file}${details.path ? ` ${details.path}` : ''}: ${summary}`, details);
    this.name = 'TokenizerError';
    this.file = file;
  }
}
