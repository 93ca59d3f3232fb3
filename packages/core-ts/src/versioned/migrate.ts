/**
 * Migration of a plain engine directory into the store's layout on first open. The engine's files
 * (CURRENT, MANIFEST-*, *.sst, wal/) are moved into `migrating/`, opened there, given a metadata
 * record (version 0 and the LtHash of a full scan — or the record an interrupted migration already
 * wrote), checkpointed into `snapshot-<v>/`, and `current` is pointed at it; then `migrating/` goes.
 * Every step is redone safely after a crash: without `current`, an existing `migrating/` resumes.
 * A database holding the empty key (other than a metadata record) or an empty value cannot be a
 * store (`INVALID_ARGUMENT`); its files are moved back first, so nothing changes.
 */
import { join } from 'node:path';
import type { Accelerator } from '@siltdb/bindings';
import { open as openDb } from '../db/open.js';
import type { OpenOptions as EngineOpenOptions } from '../db/options.js';
import { ErrorCodes, siltError } from '../errors.js';
import type { Vfs } from '../vfs/types.js';
import {
  CHANGELOG_DIR,
  CURRENT_LINK,
  isLeftover,
  LOCK_FILE,
  MIGRATING_DIR,
  parseSnapshotName,
  pointCurrent,
  readCurrent,
  removeTree,
  snapshotName,
  TMP_SUFFIX,
  WORKING_DIR,
} from './layout.js';
import { ltHashOfEntries } from './lthash.js';
import { decodeMeta, encodeMeta, META_KEY } from './meta.js';

/** Names of `home` that belong to the store, not to a plain engine database. */
function isStoreName(name: string): boolean {
  return (
    name === LOCK_FILE ||
    name === CURRENT_LINK ||
    name === WORKING_DIR ||
    name === CHANGELOG_DIR ||
    name === MIGRATING_DIR ||
    isLeftover(name) ||
    parseSnapshotName(name) !== null
  );
}

/** Returns the migrated version, or null when `home` held no plain engine database. */
export async function migrateIfNeeded(vfs: Vfs, home: string, engine: EngineOpenOptions, accelerator: Accelerator): Promise<number | null> {
  const names = await vfs.readdir(home);
  const migrating = join(home, MIGRATING_DIR);
  if ((await readCurrent(vfs, home)) !== null) {
    // Done before a crash stopped the clean-up.
    if (names.includes(MIGRATING_DIR)) await removeTree(vfs, migrating);
    return null;
  }
  if (!names.includes('CURRENT') && !names.includes(MIGRATING_DIR)) return null;
  await vfs.mkdir(migrating, { recursive: true });
  const moved = names.filter((name) => !isStoreName(name));
  for (const name of moved) await vfs.rename(join(home, name), join(migrating, name));
  await vfs.syncDir(migrating);
  await vfs.syncDir(home);

  const db = await openDb(migrating, { ...engine, createIfMissing: false });
  let version: number;
  try {
    const existing = db.getSync(META_KEY);
    if (existing !== undefined) {
      try {
        version = decodeMeta(existing, migrating).version;
      } catch (error) {
        throw siltError(ErrorCodes.INVALID_ARGUMENT, `${migrating} holds the empty key, which a versioned store reserves for its metadata`, error);
      }
    } else {
      const lanes = ltHashOfEntries(accelerator, checkedEntries(db.iterator({ gt: new Uint8Array(0) }), migrating));
      version = 0;
      await db.put(META_KEY, encodeMeta(version, lanes));
    }
    // A snapshot directory only ever appears complete (renamed from -tmp): one from an
    // interrupted migration is kept.
    if (!(await vfs.exists(join(home, snapshotName(version))))) {
      const tmp = join(home, snapshotName(version) + TMP_SUFFIX);
      await removeTree(vfs, tmp);
      await db.checkpoint(tmp);
      await vfs.rename(tmp, join(home, snapshotName(version)), { durable: true });
    }
  } catch (error) {
    await db.close().catch(() => {});
    if ((error as { code?: unknown }).code === ErrorCodes.INVALID_ARGUMENT) await moveBack(vfs, home, migrating);
    throw error;
  }
  await db.close();
  await pointCurrent(vfs, home, snapshotName(version));
  await removeTree(vfs, migrating);
  await vfs.syncDir(home);
  return version;
}

function* checkedEntries(entries: Iterable<[Uint8Array, Uint8Array]>, where: string): Generator<[Uint8Array, Uint8Array]> {
  for (const [key, value] of entries) {
    if (value.length === 0) {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, `${where} holds an empty value (key ${Buffer.from(key).toString('hex')}): a versioned store cannot hold one`);
    }
    yield [key, value];
  }
}

async function moveBack(vfs: Vfs, home: string, migrating: string): Promise<void> {
  for (const name of await vfs.readdir(migrating)) await vfs.rename(join(migrating, name), join(home, name));
  await vfs.syncDir(home);
  await vfs.rmdir(migrating, { durable: true });
}
