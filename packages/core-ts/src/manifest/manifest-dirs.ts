/**
 * The manifest directories in a database directory: listing them, and removing the ones that are
 * not live (the previous manifest after a rewrite, or a new one whose rewrite never reached
 * `CURRENT`).
 */
import { join } from 'node:path';
import type { Vfs } from '../vfs/types.js';
import { parseManifestDirName } from './file-names.js';

/** The numbers of the `MANIFEST-<n>` entries in `dir`, ascending. */
export async function listManifestDirs(vfs: Vfs, dir: string): Promise<number[]> {
  const numbers: number[] = [];
  for (const name of await vfs.readdir(dir)) {
    const number = parseManifestDirName(name);
    if (number !== null) numbers.push(number);
  }
  return numbers.sort((a, b) => a - b);
}

/**
 * Unlink every file of a dead manifest directory, then the directory. No fsync:
 * the directory is garbage whether or not the removal survives a crash, and opening removes
 * whatever a crash brings back.
 */
export async function removeManifestDir(vfs: Vfs, path: string): Promise<void> {
  if (!(await vfs.exists(path))) return;
  for (const name of await vfs.readdir(path)) await vfs.unlink(join(path, name));
  await vfs.rmdir(path);
}
