// How values appear in messages and reports: one formatter for every package, so an error from
// config and one from fa3 show the same value the same way.

function repr(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return '[function]';
  if (typeof value === 'symbol') return value.toString();
  if (value === null) return 'null';
  // An object may be a proxy or have getters that throw: formatting an error must never throw
  // one of its own, so every read of the object sits inside the try.
  try {
    // Large arrays and typed arrays by kind and length: printing a million token ids helps nobody.
    if (ArrayBuffer.isView(value)) {
      const length = (value as unknown as { length?: unknown }).length;
      return `${value.constructor?.name ?? 'ArrayBufferView'}(${typeof length === 'number' ? length : value.byteLength})`;
    }
    if (Array.isArray(value) && value.length > 16) return `array(${value.length})`;
    return JSON.stringify(value) ?? String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return '[unreadable object]';
    }
  }
}

/** A value as a user would have typed it (strings quoted, NaN as NaN, -0 as -0), at most 80 characters. */
export function formatValue(value: unknown): string {
  const text = repr(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** Bytes in binary units: `512 B`, `1.50 KiB`, `3.00 GiB`; `-` for a negative or non-finite count. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '-';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(2)} ${BYTE_UNITS[unit]}`;
}
