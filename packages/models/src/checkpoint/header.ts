// Validation of one safetensors header, before any tensor data is read: the header length, the
// JSON, every entry's dtype, shape and byte range, and that the ranges tile the data section
// exactly (no overlap, no gap, nothing past the end), as the reference implementation requires.
import { CheckpointError } from '../errors.js';
import { type CheckpointDtype, DTYPE_BYTES, isCheckpointDtype } from './dtypes.js';

/** Headers above this are rejected unread (the reference implementation's bound). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface HeaderEntry {
  readonly name: string;
  readonly dtype: CheckpointDtype;
  readonly shape: readonly number[];
  /** Offset of the first byte from the start of the file. */
  readonly fileOffset: number;
  readonly byteLength: number;
}

/** Reads the 8-byte little-endian header length and checks it against the file size. */
export function checkHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw new CheckpointError(
      'truncated_file',
      file,
      null,
      `the file has ${fileSize} bytes, fewer than the 8-byte header length`,
      {
        fix: 'the file is truncated; copy or download it again',
      },
    );
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new CheckpointError('header_too_large', file, null, 'the header length is above the 100 MB bound', {
      value: length,
      allowed: `at most ${MAX_HEADER_BYTES} bytes`,
      fix: 'this is not a safetensors file, or it is corrupt',
    });
  }
  const n = Number(length);
  if (8 + n > fileSize) {
    throw new CheckpointError(
      'header_past_eof',
      file,
      null,
      `the header length ${n} runs past the end of the ${fileSize}-byte file`,
      {
        value: n,
        allowed: `at most ${fileSize - 8}`,
        fix: 'the file is truncated or not safetensors; copy or download it again',
      },
    );
  }
  return n;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses and validates the JSON header; returns the entries in file order. */
export function parseHeader(file: string, headerBytes: Uint8Array, fileSize: number): HeaderEntry[] {
  const headerLength = headerBytes.byteLength;
  const dataStart = 8 + headerLength;
  const dataSize = fileSize - dataStart;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw new CheckpointError('header_not_json', file, null, 'the header is not well-formed UTF-8 JSON', {
      cause: err,
      fix: 'the file is corrupt or not safetensors',
    });
  }
  if (!isPlainObject(json)) {
    throw new CheckpointError('header_not_object', file, null, 'the header JSON is not an object of tensors', {
      fix: 'the file is corrupt or not safetensors',
    });
  }
  const entries: (HeaderEntry & { begin: number; end: number })[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
        throw new CheckpointError('bad_metadata', file, null, '__metadata__ must be an object of strings', {
          field: '__metadata__',
        });
      }
      continue;
    }
    if (!isPlainObject(raw)) {
      throw new CheckpointError('bad_tensor_entry', file, name, 'the header entry is not an object', {
        fix: 'each tensor needs { dtype, shape, data_offsets }',
      });
    }
    const { dtype, shape, data_offsets: offsets } = raw;
    if (!isCheckpointDtype(dtype)) {
      throw new CheckpointError('unknown_dtype', file, name, 'unsupported dtype', {
        field: 'dtype',
        value: dtype,
        allowed: 'BF16, F16, F32',
        fix: 'convert the checkpoint to bfloat16, float16 or float32',
      });
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw new CheckpointError('bad_shape', file, name, 'shape must be an array of non-negative integers', {
        field: 'shape',
        value: shape,
      });
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) ||
      (offsets[0] as number) > (offsets[1] as number)
    ) {
      throw new CheckpointError('bad_offsets', file, name, 'data_offsets must be [begin, end] with 0 <= begin <= end', {
        field: 'data_offsets',
        value: offsets,
      });
    }
    const [begin, end] = offsets as [number, number];
    const elements = (shape as number[]).reduce((p, d) => p * d, 1);
    const expected = elements * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw new CheckpointError(
        'size_mismatch',
        file,
        name,
        `shape ${JSON.stringify(shape)} x ${dtype} is ${expected} bytes but data_offsets span ${end - begin}`,
        {
          field: 'data_offsets',
          value: offsets,
          allowed: `a range of ${expected} bytes`,
        },
      );
    }
    if (end > dataSize) {
      throw new CheckpointError(
        'range_outside_data',
        file,
        name,
        `data_offsets end ${end} is past the ${dataSize}-byte data section`,
        {
          field: 'data_offsets',
          value: offsets,
          allowed: `ranges within [0, ${dataSize}]`,
          fix: 'the file is truncated; copy or download it again',
        },
      );
    }
    entries.push({
      name,
      dtype,
      shape: Object.freeze([...(shape as number[])]),
      fileOffset: dataStart + begin,
      byteLength: end - begin,
      begin,
      end,
    });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: string | null = null;
  for (const e of entries) {
    if (e.begin < covered) {
      throw new CheckpointError(
        'overlapping_ranges',
        file,
        e.name,
        `its bytes [${e.begin}, ${e.end}) overlap tensor '${previous}' (ending at ${covered})`,
        {
          field: 'data_offsets',
          value: [e.begin, e.end],
          fix: 'the header is corrupt; write the checkpoint again',
        },
      );
    }
    if (e.begin > covered) {
      throw new CheckpointError(
        'data_gap',
        file,
        e.name,
        `the data section has unused bytes [${covered}, ${e.begin}) before this tensor`,
        {
          field: 'data_offsets',
          value: [e.begin, e.end],
          fix: 'the header is corrupt; write the checkpoint again',
        },
      );
    }
    covered = e.end;
    previous = e.name;
  }
  if (covered !== dataSize) {
    throw new CheckpointError(
      'data_not_covered',
      file,
      null,
      `the tensors cover ${covered} bytes of the ${dataSize}-byte data section`,
      {
        value: covered,
        allowed: `exactly ${dataSize}`,
        fix: 'the file has trailing bytes or is truncated; write or copy it again',
      },
    );
  }
  return entries.map(({ begin: _b, end: _e, ...entry }) => entry);
}
