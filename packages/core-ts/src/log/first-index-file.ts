/**
 * The first-index file: the log's first index when a truncation moved it past the start of the
 * first segment (segments are only ever removed whole, so `truncateBefore(i)` with `i` inside a
 * segment, and `truncateAll()`, which keeps the next index with no entries left, need it).
 *
 * It is replaced atomically: written to FIRST.tmp, synced, renamed over FIRST, and the directory
 * synced. A crash leaves either the old file or the new one, never a torn one.
 */
import { join } from 'node:path';
import { ErrorCodes, siltError } from '../errors.js';
import { isNotFound } from '../vfs/io-error.js';
import type { Vfs } from '../vfs/types.js';
import { FIRST_INDEX_FILE, FIRST_INDEX_TEMP_FILE } from './file-names.js';
import { decodeIndexStamp, encodeIndexStamp, FIRST_INDEX_MAGIC, INDEX_STAMP_BYTES } from './index-stamp.js';

/** The stored first index, or null when the log has no first-index file. */
export async function readFirstIndexFile(vfs: Vfs, dir: string): Promise<number | null> {
  const path = join(dir, FIRST_INDEX_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await vfs.readFile(path);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  const index = bytes.length === INDEX_STAMP_BYTES ? decodeIndexStamp(bytes, FIRST_INDEX_MAGIC) : null;
  if (index === null) throw siltError(ErrorCodes.CORRUPTION, `${path} is not a valid first-index file`);
  return index;
}

export async function writeFirstIndexFile(vfs: Vfs, dir: string, index: number): Promise<void> {
  const temp = join(dir, FIRST_INDEX_TEMP_FILE);
  const file = await vfs.open(temp, { mode: 'replace' });
  try {
    await file.write(encodeIndexStamp(FIRST_INDEX_MAGIC, index), 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await vfs.rename(temp, join(dir, FIRST_INDEX_FILE), { durable: true });
}
