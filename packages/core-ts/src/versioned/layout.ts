/**
 * The directory layout of a versioned store (docs/VERSIONED.md) and the file operations it is
 * maintained with, all through the VFS:
 *
 *   LOCK                    the store's lock
 *   current -> snapshot-…   symlink (relative name), swapped via current-tmp + rename + dir fsync
 *   snapshot-<20 digits>/   immutable engine checkpoints, one per snapshotted version
 *   working/                the mutable engine database, a clone of a snapshot
 *   working/SNAPSHOT_BASE   the snapshot `working/` was cloned from; written last
 *   changelog/              the IndexedLog of change sets, one record per version
 *   *-tmp, *-removing       leftovers of interrupted work, deleted on open
 */
import { join } from 'node:path';
import { ErrorCodes, siltError } from '../errors.js';
import { systemErrorCode } from '../vfs/io-error.js';
import type { Vfs } from '../vfs/types.js';

export const LOCK_FILE = 'LOCK';
export const CURRENT_LINK = 'current';
export const WORKING_DIR = 'working';
export const CHANGELOG_DIR = 'changelog';
export const SNAPSHOT_BASE_FILE = 'SNAPSHOT_BASE';
/** Where a plain engine directory's files wait while it is migrated into this layout. */
export const MIGRATING_DIR = 'migrating';
export const TMP_SUFFIX = '-tmp';
export const REMOVING_SUFFIX = '-removing';

const SNAPSHOT_NAME = /^snapshot-(\d{20})$/;

export function snapshotName(version: number): string {
  return `snapshot-${String(version).padStart(20, '0')}`;
}

/** The version a snapshot directory name stands for, or null for any other name. */
export function parseSnapshotName(name: string): number | null {
  const match = SNAPSHOT_NAME.exec(name);
  if (match === null) return null;
  const version = Number(match[1]);
  return Number.isSafeInteger(version) ? version : null;
}

export function isLeftover(name: string): boolean {
  return name.endsWith(TMP_SUFFIX) || name.endsWith(REMOVING_SUFFIX);
}

/** The versions of the snapshot directories in `home`, ascending. */
export async function listSnapshots(vfs: Vfs, home: string): Promise<number[]> {
  const versions: number[] = [];
  for (const name of await vfs.readdir(home)) {
    const version = parseSnapshotName(name);
    if (version !== null) versions.push(version);
  }
  return versions.sort((a, b) => a - b);
}

export function requireLinks(vfs: Vfs): Required<Pick<Vfs, 'symlink' | 'readlink'>> {
  if (typeof vfs.symlink !== 'function' || typeof vfs.readlink !== 'function') {
    throw siltError(ErrorCodes.INVALID_ARGUMENT, 'the versioned store needs a Vfs with symlink and readlink');
  }
  return { symlink: vfs.symlink.bind(vfs), readlink: vfs.readlink.bind(vfs) };
}

/** The snapshot name `current` points at, or null when there is no `current` link. */
export async function readCurrent(vfs: Vfs, home: string): Promise<string | null> {
  try {
    return await requireLinks(vfs).readlink(join(home, CURRENT_LINK));
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/** Point `current` at `name` atomically: a new link `current-tmp`, renamed over `current`, dir fsynced. */
export async function pointCurrent(vfs: Vfs, home: string, name: string): Promise<void> {
  const tmp = join(home, CURRENT_LINK + TMP_SUFFIX);
  await removeTree(vfs, tmp);
  await requireLinks(vfs).symlink(name, tmp);
  await vfs.rename(tmp, join(home, CURRENT_LINK), { durable: true });
}

/**
 * Remove a file, link or directory tree; a missing path is fine. A directory is told from a file by
 * unlink refusing it (EISDIR on Linux, EPERM elsewhere); links are unlinked, never followed.
 */
export async function removeTree(vfs: Vfs, path: string): Promise<void> {
  try {
    await vfs.unlink(path);
    return;
  } catch (error) {
    const code = systemErrorCode(error);
    if (code === 'ENOENT') return;
    if (code !== 'EISDIR' && code !== 'EPERM') throw error;
  }
  for (const name of await vfs.readdir(path)) await removeTree(vfs, join(path, name));
  await vfs.rmdir(path);
}

/**
 * Remove a directory of `home` so that a crash never leaves it half there under its own name:
 * rename to `<name>-removing` (durable), then delete; the next open finishes a partial delete.
 */
export async function removeDirAtomically(vfs: Vfs, home: string, name: string): Promise<void> {
  const removing = join(home, name + REMOVING_SUFFIX);
  await removeTree(vfs, removing);
  await vfs.rename(join(home, name), removing, { durable: true });
  await removeTree(vfs, removing);
  await vfs.syncDir(home);
}

/** Whether `path` is a directory (readdir succeeds) rather than a file. */
export async function isDirectory(vfs: Vfs, path: string): Promise<boolean> {
  try {
    await vfs.readdir(path);
    return true;
  } catch (error) {
    if (systemErrorCode(error) === 'ENOTDIR') return false;
    throw error;
  }
}

/** Write a small file atomically: `<path>.tmp`, fsync, rename over `path`, directory fsync. */
export async function writeFileAtomically(vfs: Vfs, path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = await vfs.open(tmp, { mode: 'replace' });
  try {
    await file.write(data, 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await vfs.rename(tmp, path, { durable: true });
}

/** The content of a file, or null when it does not exist. */
export async function readFileIfExists(vfs: Vfs, path: string): Promise<Uint8Array | null> {
  try {
    return await vfs.readFile(path);
  } catch (error) {
    if (systemErrorCode(error) === 'ENOENT') return null;
    throw error;
  }
}
