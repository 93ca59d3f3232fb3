/**
 * One manifest: a directory `MANIFEST-<n>/` holding an `IndexedLog` of encoded edits, each appended
 * with an fdatasync of its own (durability `sync`) so an acknowledged edit survives power loss.
 * The first entry is a snapshot edit; the rest are changes. Replaying them in order rebuilds the
 * state, and anything that does not replay cleanly is `CORRUPTION` — a manifest is never
 * partially believed.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { bytesCodec } from '../log/codec.js';
import { IndexedLog } from '../log/indexed-log.js';
import { RECORD_HEADER_BYTES } from '../log/record-layout.js';
import type { Vfs } from '../vfs/types.js';
import { decodeEdit } from './edit-codec.js';
import { removeManifestDir } from './manifest-dirs.js';
import type { CheckedEdit } from './version-edit.js';
import type { VersionSet } from './version-set.js';

export type ManifestLog = IndexedLog<Uint8Array>;

/** A snapshot of many tables can be large; the log's own ceiling is 1 GiB per entry. */
const MAX_EDIT_BYTES = 1024 * 1024 * 1024;

/** What a manifest's size is measured in, to decide when to rewrite it. */
export interface ManifestSize {
  /** Bytes of the log's records (payloads and record headers). */
  bytes: number;
  edits: number;
  /** Bytes of the first record, the snapshot. */
  snapshotBytes: number;
}

export function recordBytes(payload: Uint8Array): number {
  return payload.length + RECORD_HEADER_BYTES;
}

export function openManifestLog(vfs: Vfs, path: string): Promise<ManifestLog> {
  return IndexedLog.open(path, bytesCodec, { vfs, durability: 'sync', maxEntryBytes: MAX_EDIT_BYTES });
}

/**
 * Create the manifest at `path` holding `snapshot` as its only edit, durably: when this resolves,
 * a crash leaves the directory, its segment and the edit in place, so `CURRENT` may name it. A
 * leftover at `path` (an earlier attempt that failed) is removed first.
 */
export async function createManifestLog(vfs: Vfs, path: string, snapshot: Uint8Array): Promise<ManifestLog> {
  await removeManifestDir(vfs, path);
  // Opening creates the directory durably (its parent is synced).
  const log = await openManifestLog(vfs, path);
  try {
    await log.append(snapshot);
    // The segment was created with a directory sync too; this one costs little and makes the
    // promise independent of how the log creates files: CURRENT must never name an empty manifest.
    await vfs.syncDir(path);
    return log;
  } catch (error) {
    await log.close().catch(() => {});
    throw error;
  }
}

/** A manifest's edits, decoded and in order, with their record sizes (`CORRUPTION` for anything malformed). */
export async function readManifest(log: ManifestLog): Promise<{ edits: CheckedEdit[]; size: ManifestSize }> {
  // Nothing ever truncates a manifest, so it must start at entry 0.
  if (log.firstIndex !== 0) throw corruptManifest(log, `it starts at entry ${log.firstIndex}, not 0`);
  const entries = await log.readAll();
  const size: ManifestSize = { bytes: 0, edits: entries.length, snapshotBytes: entries.length > 0 ? recordBytes(entries[0]!) : 0 };
  const edits = entries.map((bytes, index) => {
    size.bytes += recordBytes(bytes);
    try {
      return decodeEdit(bytes);
    } catch (error) {
      throw corruptManifest(log, `edit ${index}: ${(error as Error).message}`, error);
    }
  });
  return { edits, size };
}

/** Apply the manifest's edits to a fresh `set`; returns the manifest's size. */
export async function replayManifest(log: ManifestLog, set: VersionSet): Promise<ManifestSize> {
  const { edits, size } = await readManifest(log);
  // CURRENT only ever names a manifest once its snapshot is durable: an empty one lost its data.
  if (edits.length === 0) throw corruptManifest(log, 'it holds no edit');
  for (let index = 0; index < edits.length; index++) {
    const edit = edits[index]!;
    if (edit.snapshot !== (index === 0)) {
      throw corruptManifest(log, index === 0 ? 'it does not start with a snapshot edit' : `edit ${index} is a second snapshot`);
    }
    try {
      set.apply(edit);
    } catch (error) {
      throw corruptManifest(log, `edit ${index} does not apply: ${(error as Error).message}`, error);
    }
  }
  return size;
}

function corruptManifest(log: ManifestLog, why: string, cause?: unknown) {
  return siltError(ErrorCodes.CORRUPTION, `the manifest in ${log.dir} is corrupt: ${why}`, cause);
}
