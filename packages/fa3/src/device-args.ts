// Device memory and stream arguments: `DeviceBuffer | bigint` and `Stream | bigint`, per the
// interop contract. A DeviceBuffer's byte length is checked against the shape it must hold; a raw
// pointer is trusted for size (the caller owns it) but checked for null and alignment.
import type { DeviceBuffer, Stream } from '@flashgraph/cuda';

export type DeviceMemory = DeviceBuffer | bigint;
export type StreamLike = Stream | bigint;

const U64_MAX = (1n << 64n) - 1n;

function isBufferLike(v: unknown): v is DeviceBuffer {
  return typeof v === 'object' && v !== null && 'ptr' in v && 'byteLength' in v;
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
  let ptr: bigint;
  if (typeof value === 'bigint') {
    if (value <= 0n || value > U64_MAX) {
      throw new RangeError(`${fn}: ${name} must be a non-null device pointer (bigint in [1, 2^64)), got ${value}n`);
    }
    ptr = value;
  } else if (isBufferLike(value)) {
    ptr = value.ptr; // throws DisposedError for a disposed buffer
    if (typeof ptr !== 'bigint') throw new TypeError(`${fn}: ${name}.ptr must be a bigint`);
    if (typeof value.device === 'number' && value.device !== device) {
      throw new RangeError(
        `${fn}: ${name} lives on device ${value.device}, but this attention runs on device ${device}`,
      );
    }
    if (value.byteLength < bytes) {
      throw new RangeError(
        `${fn}: ${name} must hold ${shape} = ${bytes} bytes, but the DeviceBuffer has ${value.byteLength}`,
      );
    }
  } else {
    throw new TypeError(
      `${fn}: ${name} must be a DeviceBuffer or a bigint device pointer, got ${value === null ? 'null' : typeof value}`,
    );
  }
  if (ptr % BigInt(align) !== 0n) {
    throw new RangeError(`${fn}: ${name} must be ${align}-byte aligned, got address 0x${ptr.toString(16)}`);
  }
  return ptr;
}

/** The cudaStream_t handle of `value` (0n = the legacy default stream). */
export function streamHandle(fn: string, value: unknown): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value > U64_MAX)
      throw new RangeError(`${fn}: stream must be a cudaStream_t handle in [0, 2^64), got ${value}n`);
    return value;
  }
  if (typeof value === 'object' && value !== null && 'handle' in value) {
    const h = (value as Stream).handle; // throws DisposedError for a disposed stream
    if (typeof h === 'bigint') return h;
  }
  throw new TypeError(
    `${fn}: stream must be a Stream or a bigint cudaStream_t handle, got ${value === null ? 'null' : typeof value}`,
  );
}
