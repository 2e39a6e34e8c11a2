// Shard file names come from model.safetensors.index.json, which is untrusted input: only plain
// names of files inside the model folder are accepted, and the resolved file (symbolic links
// followed) must still be inside the folder.
import { realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { CheckpointError } from '../errors.js';

export const INDEX_FILE = 'model.safetensors.index.json';

/** Rejects anything but a plain file name: no separators, no '.'/'..', no absolute path, no NUL. */
export function checkShardName(name: unknown, tensor: string): string {
  const plain =
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= 255 &&
    name !== '.' &&
    name !== '..' &&
    !name.includes('/') &&
    !name.includes('\\') &&
    !name.includes('\0') &&
    !isAbsolute(name);
  if (!plain) {
    throw new CheckpointError(
      'unsafe_shard_name',
      INDEX_FILE,
      tensor,
      'the shard file name is not a plain name inside the model folder',
      {
        field: `weight_map.${tensor}`,
        value: name,
        allowed: 'a file name without "/", "\\" or "..", e.g. "model-00001-of-00002.safetensors"',
        fix: 'fix the index; flashgraph never reads files outside the model folder',
      },
    );
  }
  return name;
}

/** The real path of dir/name, which must lie inside the real path of dir. */
export async function resolveInside(dir: string, name: string, displayName: string): Promise<string> {
  const root = await realpath(dir);
  let target: string;
  try {
    target = await realpath(join(dir, name));
  } catch (err) {
    throw new CheckpointError('missing_file', displayName, null, 'the file does not exist', {
      cause: err,
      fix: 'copy the complete checkpoint (every shard named in the index) into the model folder',
    });
  }
  const rel = relative(root, target);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new CheckpointError(
      'file_outside_folder',
      displayName,
      null,
      'the file is a symbolic link leading outside the model folder',
      {
        value: target,
        fix: 'copy the file into the model folder instead of linking to it',
      },
    );
  }
  return target;
}
