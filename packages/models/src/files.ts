// Reading the files of a model folder, which is untrusted input: a name may be a directory, a
// named pipe (whose open() blocks until a writer comes, that is forever), a device, or a file far
// too large to read whole. Every file is stat'ed (symbolic links followed) before it is opened and
// must be a regular file; JSON files are read whole only up to a bound. The checkpoint, config and
// tokenizer readers share these helpers, each building errors of its own class through `errorFor`.
import type { Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { formatBytes, InvalidArgumentError } from '@flashgraph/errors';
import type { ModelsError, ModelsErrorDetails } from './errors.js';

/**
 * Builds the caller's typed error for one file (a CheckpointError, ModelConfigError or
 * TokenizerError naming it), e.g. `(code, problem, d) => new ModelConfigError(code, 'config.json', problem, d)`.
 */
export type FileErrorFactory = (code: string, problem: string, details: ModelsErrorDetails) => ModelsError;

/** JSON files read whole (configs, shard index, tokenizer files) larger than this are rejected unread. */
export const MAX_JSON_FILE_BYTES = 64 * 1024 * 1024;

const REGULAR = 'a regular file (or a symbolic link to one)';

/** A folder path argument: a non-empty string without NUL (no file system path holds one). */
export function checkFolderArgument(path: string, value: unknown, allowed: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError({ code: 'invalid_type', path, value, allowed: `${allowed} (a non-empty string)` });
  }
  if (value.includes('\0')) {
    throw new InvalidArgumentError({
      code: 'invalid_value',
      path,
      value,
      allowed: `${allowed}, without NUL characters`,
    });
  }
  return value;
}

function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a named pipe (FIFO)';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

function notRegular(s: Stats, errorFor: FileErrorFactory): ModelsError {
  return errorFor('not_regular_file', 'the path is not a regular file', {
    value: kindOf(s),
    allowed: REGULAR,
    fix: 'put the real file there (a model folder holds plain files)',
  });
}

function unreadable(err: unknown, errorFor: FileErrorFactory): ModelsError {
  const reason = (err as { code?: unknown } | null)?.code ?? (err as Error | null)?.message ?? String(err);
  return errorFor('unreadable_file', `the file cannot be read (${String(reason)})`, {
    cause: err,
    fix: 'check the permissions of the file and of the model folder',
  });
}

function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The stats of `path` (symbolic links followed), which must be a regular file; null when nothing
 * is there. Typed errors (from `errorFor`): `not_regular_file`, `unreadable_file`.
 */
export async function statRegularFile(path: string, errorFor: FileErrorFactory): Promise<Stats | null> {
  let s: Stats;
  try {
    s = await stat(path);
  } catch (err) {
    if (isMissing(err)) return null;
    throw unreadable(err, errorFor);
  }
  if (!s.isFile()) throw notRegular(s, errorFor);
  return s;
}

/**
 * Opens a regular file for reading; null when nothing is there. It is stat'ed first, as opening a
 * named pipe would block (O_NONBLOCK would not help the reads), then the open handle is checked
 * again, so a name swapped for a directory in between is caught too. The caller closes the handle.
 */
export async function openRegularFile(
  path: string,
  errorFor: FileErrorFactory,
): Promise<{ handle: FileHandle; size: number } | null> {
  if ((await statRegularFile(path, errorFor)) === null) return null;
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (isMissing(err)) return null;
    throw unreadable(err, errorFor);
  }
  try {
    const s = await handle.stat();
    if (!s.isFile()) throw notRegular(s, errorFor);
    return { handle, size: s.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * The UTF-8 text of a JSON file of the model folder, read whole; null when nothing is at `path`.
 * The file must be a regular file of at most `maxBytes` (default MAX_JSON_FILE_BYTES, 64 MiB);
 * otherwise `errorFor`'s typed error: `not_regular_file`, `file_too_large`, `unreadable_file`.
 * The caller parses the text (its own `not_json` error) and reports a missing file its own way.
 */
export async function readJsonTextFile(
  path: string,
  options: { readonly errorFor: FileErrorFactory; readonly maxBytes?: number },
): Promise<string | null> {
  const { errorFor } = options;
  const maxBytes = options.maxBytes ?? MAX_JSON_FILE_BYTES;
  const tooLarge = (size: number) =>
    errorFor('file_too_large', `the file holds ${formatBytes(size)}, more than a JSON file of a model folder may`, {
      value: size,
      allowed: `at most ${maxBytes} bytes (${formatBytes(maxBytes)})`,
      fix: 'this is not the file the model folder should hold; copy or download it again',
    });
  const opened = await openRegularFile(path, errorFor);
  if (opened === null) return null;
  const { handle, size } = opened;
  try {
    if (size > maxBytes) throw tooLarge(size);
    // Read to the end rather than trusting the size (the file may grow after the stat), and never
    // past the bound: at most maxBytes + 1 bytes are ever held.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(Math.max(size - total, 1 << 16), maxBytes + 1 - total);
      const chunk = Buffer.allocUnsafe(want);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(chunk, 0, want, total));
      } catch (err) {
        throw unreadable(err, errorFor);
      }
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(total);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await handle.close();
  }
}
