// Device memory and stream arguments: `DeviceBuffer | bigint` and `Stream | bigint`, per the
// interop contract. A DeviceBuffer's byte length is checked against the shape it must hold; a raw
// pointer is trusted for size (the caller owns it) but checked for null and alignment.
import type { DeviceBuffer, Stream } from '@flashgraph/cuda';
import { InvalidArgumentError } from '@flashgraph/errors';
import { argPath } from './validate.js';

export type DeviceMemory = DeviceBuffer | bigint;
export type StreamLike = Stream | bigint;

const U64_MAX = (1n << 64n) - 1n;

function isBufferLike(v: unknown): v is DeviceBuffer {
  return typeof v === 'object' && v !== null && 'ptr' in v && 'byteLength' in v;
}

function bad(code: 'invalid_type' | 'out_of_range' | 'invalid_value', path: string, value: unknown, allowed: string) {
  return new InvalidArgumentError({ code, path, value, allowed });
}

/**
 * The device address of `value`, which must hold `bytes` bytes (shape given in `shape` for the
 * message) at an address aligned to `align` bytes.
 */
export function devicePointer(
  fn: string,
  name: string,
  value: unknown,
  bytes: number,
  shape: string,
  align: number,
  device: number,
): bigint {
  const path = argPath(fn, name);
  let ptr: bigint;
  if (typeof value === 'bigint') {
    if (value <= 0n || value > U64_MAX) {
      throw bad('out_of_range', path, value, 'a non-null device pointer (bigint in [1, 2^64))');
    }
    ptr = value;
  } else if (isBufferLike(value)) {
    ptr = value.ptr; // throws DisposedError for a disposed buffer
    if (typeof ptr !== 'bigint') throw bad('invalid_type', `${path}.ptr`, ptr, 'a bigint device address');
    if (typeof value.device === 'number' && value.device !== device) {
      throw bad('invalid_value', `${path}.device`, value.device, `${device} (the device this attention runs on)`);
    }
    if (!(value.byteLength >= bytes)) {
      throw bad('out_of_range', `${path}.byteLength`, value.byteLength, `at least ${shape} = ${bytes} bytes`);
    }
  } else {
    throw bad('invalid_type', path, value, 'a DeviceBuffer or a bigint device pointer');
  }
  if (ptr % BigInt(align) !== 0n) {
    throw bad('invalid_value', path, `0x${ptr.toString(16)}`, `an address ${align}-byte aligned`);
  }
  return ptr;
}

/** The cudaStream_t handle of `value` (0n = the legacy default stream). */
export function streamHandle(fn: string, value: unknown): bigint {
  const path = argPath(fn, 'stream');
  if (typeof value === 'bigint') {
    if (value < 0n || value > U64_MAX) throw bad('out_of_range', path, value, 'a cudaStream_t handle in [0, 2^64)');
    return value;
  }
  if (typeof value === 'object' && value !== null && 'handle' in value) {
    const h = (value as Stream).handle; // throws DisposedError for a disposed stream
    if (typeof h === 'bigint') return h;
  }
  throw bad('invalid_type', path, value, 'a Stream or a bigint cudaStream_t handle');
}
