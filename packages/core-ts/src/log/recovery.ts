/**
 * Opening a log directory: find the segments, settle the first and next index, and repair what a
 * crash can legitimately leave behind — and nothing else.
 *
 * What a crash can leave (each repaired, durably, before the log is used):
 * - a torn tail in the last segment: a record cut short by the crash, or zeros where the file
 *   system had extended the file without writing the data. The file is cut after the last whole
 *   record.
 * - a last segment whose header was being written: rewritten.
 * - segments wholly before the stored first index (a truncation removed them from the index, then
 *   crashed before unlinking them): unlinked.
 * - a leftover FIRST.tmp: unlinked.
 * - segments sealed lazily (`none` durability, stamp version 2 or 3) whose predecessor lost a tail,
 *   or its whole file: the predecessor is cut to its whole records and the segments after it are
 *   unlinked, since the log can only keep a prefix. Predecessors are verified back to the nearest
 *   version-1 stamp (one segment back for version 2, written by older versions); those found
 *   whole are synced, and the stamps after them rewritten as version 1. A stamp whose rewrite from
 *   version 2 or 3 to 1 was torn reads as the lazy version.
 *
 * Anything else is corruption and fails the open with `CORRUPTION`: a damaged record followed by
 * data, a damaged header, a gap between the first index and the first segment. Sealed segments are
 * verified when first read (opening a large log reads only its last segment).
 */
import { join } from 'node:path';
import { ErrorCodes, siltError } from '../errors.js';
import type { Vfs, VfsFile } from '../vfs/types.js';
import { FIRST_INDEX_TEMP_FILE, parseSegmentFileName, segmentFileName } from './file-names.js';
import { readFirstIndexFile } from './first-index-file.js';
import {
  CHAINED_SEAL_VERSION,
  decodeIndexStamp,
  encodeIndexStamp,
  INDEX_STAMP_BYTES,
  LAZY_SEAL_VERSION,
  LOG_FORMAT_VERSION,
  sealsPredecessorLazily,
  SEGMENT_MAGIC,
  unknownStampVersion,
} from './index-stamp.js';
import { LogState } from './log-state.js';
import { OffsetList } from './offset-list.js';
import { RECORD_HEADER_BYTES, recordPayloadLength, scanRecords, type RecordDefect } from './record.js';
import { Segment } from './segment.js';
import { defectError, readWholeFile } from './segment-reader.js';

export async function recoverLog(vfs: Vfs, dir: string): Promise<LogState> {
  const names = await vfs.readdir(dir);
  if (names.includes(FIRST_INDEX_TEMP_FILE)) await vfs.unlink(join(dir, FIRST_INDEX_TEMP_FILE));
  const starts = names
    .map(parseSegmentFileName)
    .filter((start): start is number => start !== null)
    .sort((a, b) => a - b);
  const storedFirst = await readFirstIndexFile(vfs, dir);

  const segments: Segment[] = [];
  for (let i = 0; i + 1 < starts.length; i++) {
    const start = starts[i]!;
    segments.push(new Segment(dir, start, { offsets: null, count: starts[i + 1]! - start, end: 0, onDisk: true }));
  }
  const lastStart = starts[starts.length - 1];
  if (lastStart !== undefined) segments.push(await recoverLastSegment(vfs, dir, lastStart, starts.length > 1));
  try {
    await settleLazySeals(vfs, dir, segments, storedFirst);
  } catch (error) {
    for (const segment of segments) await segment.closeFile().catch(() => {});
    throw error;
  }

  const tail = segments[segments.length - 1];
  let nextIndex = tail?.endIndex ?? storedFirst ?? 0;
  let firstIndex = storedFirst ?? segments[0]?.start ?? nextIndex;
  const removed: Segment[] = [];
  if (storedFirst !== null) {
    if (nextIndex <= storedFirst) {
      // Every entry that survived lies before the first index: the log is empty there. (A crash
      // can cost unsynced entries after a truncation moved the first index past them.)
      removed.push(...segments.splice(0));
      nextIndex = firstIndex = storedFirst;
    } else if (segments[0]!.start > storedFirst) {
      throw siltError(
        ErrorCodes.CORRUPTION,
        `the log in ${dir} starts at index ${storedFirst} but its first segment starts at ${segments[0]!.start}: entries are missing`,
      );
    } else {
      while (segments[0]!.endIndex <= storedFirst) removed.push(segments.shift()!);
    }
  }
  if (removed.length > 0) {
    for (const segment of removed) {
      await segment.closeFile();
      await vfs.unlink(segment.path);
    }
    await vfs.syncDir(dir);
  }
  return new LogState(dir, vfs, firstIndex, nextIndex, segments);
}

/**
 * Walk back from the last segment while a segment's stamp says its predecessor was sealed without
 * a sync, verifying that predecessor (read whole, torn tail cut as for a last segment):
 * - whole: go on with the predecessor's own stamp (a version-1 stamp promises that everything
 *   before it is durable: the walk stops there);
 * - short or missing: the crash cost it entries, so no later segment can follow it: those are
 *   unlinked, last first, and the walk goes on from the predecessor, now the last segment;
 * - holding more records than its successor's name allows: CORRUPTION.
 * Then the segments found whole are made durable, with the directory, and the stamps after them
 * rewritten as version 1, so that the next open need not read them again.
 */
async function settleLazySeals(vfs: Vfs, dir: string, segments: Segment[], storedFirst: number | null): Promise<void> {
  // segments[verifiedFrom…] are the ones read whole (the last segment always is).
  let verifiedFrom = segments.length - 1;
  for (;;) {
    const at = verifiedFrom;
    const tail = segments[at];
    // Entries before the first index are dropped anyway (and their files may already be gone).
    if (tail === undefined || !tail.sealsPredecessorLazily || (storedFirst !== null && storedFirst >= tail.start)) break;
    const previous = segments[at - 1];
    if (previous !== undefined) {
      const predecessor = await recoverLastSegment(vfs, dir, previous.start, at - 1 > 0);
      segments[at - 1] = predecessor;
      const expected = tail.start - predecessor.start;
      if (predecessor.count > expected) {
        throw siltError(
          ErrorCodes.CORRUPTION,
          `${predecessor.path} is corrupt: it holds ${predecessor.count} records but the next segment starts at index ${tail.start}`,
        );
      }
      verifiedFrom = at - 1;
      if (predecessor.count === expected) continue;
    }
    while (segments.length > at) {
      const doomed = segments.pop()!;
      await doomed.closeFile();
      await vfs.unlink(doomed.path, { durable: true });
    }
    verifiedFrom = Math.min(verifiedFrom, segments.length - 1);
  }
  const last = segments.length - 1;
  if (verifiedFrom >= last) return;
  // From now on these segments are relied on as sealed: recovery synced their data (reading them
  // as a last segment does); the directory makes their entries durable. Then the stamps can say so
  // (version 1). Those writes are not synced: lost or torn, a stamp still reads as a lazy version,
  // which is always safe.
  await vfs.syncDir(dir);
  for (let k = verifiedFrom; k <= last; k++) {
    const segment = segments[k]!;
    if (k > verifiedFrom && segment.sealsPredecessorLazily) {
      await segment.file!.write(encodeIndexStamp(SEGMENT_MAGIC, segment.start, LOG_FORMAT_VERSION), 0);
      segment.sealsPredecessorLazily = false;
    }
    if (k < last) await segment.closeFile();
  }
}

/** Open the last segment for appending, cutting a torn tail or rewriting a torn header. */
async function recoverLastSegment(vfs: Vfs, dir: string, start: number, hasPredecessor: boolean): Promise<Segment> {
  const path = join(dir, segmentFileName(start));
  const file = await vfs.open(path, { mode: 'readwrite' });
  try {
    const bytes = await readWholeFile(file);
    const segment = new Segment(dir, start, { offsets: new OffsetList(), count: 0, end: INDEX_STAMP_BYTES, onDisk: true });
    segment.file = file;
    segment.fileWritable = true;
    const tornFrom = decodeIndexStamp(bytes, SEGMENT_MAGIC) === start ? null : tornStampRewrite(bytes, start);
    if (tornFrom !== null) {
      // The writer was turning a lazy stamp into version 1 when the crash came: read it as the
      // lazy version (always safe), and write it whole again.
      const stamp = encodeIndexStamp(SEGMENT_MAGIC, start, tornFrom);
      await file.write(stamp, 0);
      await file.datasync();
      bytes.set(stamp, 0);
    }
    if (decodeIndexStamp(bytes, SEGMENT_MAGIC) !== start) {
      const version = unknownStampVersion(bytes, SEGMENT_MAGIC);
      if (version !== null) {
        throw siltError(ErrorCodes.CORRUPTION, `${path} has segment format version ${version}, which this version of SiltDB cannot read`);
      }
      if (!isTornHeader(bytes, start)) {
        throw siltError(ErrorCodes.CORRUPTION, `${path} is corrupt: its header is not a valid segment header for index ${start}`);
      }
      // Whether the lost stamp said its predecessor was sealed lazily is unknown: assume it did
      // (always safe; it costs a read of the predecessor at open).
      segment.sealsPredecessorLazily = hasPredecessor;
      await rewrite(file, 0, encodeIndexStamp(SEGMENT_MAGIC, start, hasPredecessor ? CHAINED_SEAL_VERSION : LOG_FORMAT_VERSION));
      return segment;
    }
    segment.sealsPredecessorLazily = sealsPredecessorLazily(bytes);
    const scan = scanRecords(bytes, INDEX_STAMP_BYTES, bytes.length);
    if (scan.defect !== null) {
      if (!isTornTail(bytes, scan.end, scan.defect)) {
        throw defectError(segment, start + scan.offsets.length, scan.end, scan.defect);
      }
      await rewrite(file, scan.end);
    } else {
      // The records found may never have been synced (a process crash keeps them in the page
      // cache). Entries appended from now on are synced and may land in a later segment; unless
      // these are made durable first, a power loss could drop them and leave a hole before those.
      await file.datasync();
    }
    segment.offsets = new OffsetList(scan.offsets);
    segment.count = scan.offsets.length;
    segment.end = scan.end;
    return segment;
  } catch (error) {
    await file.close().catch(() => {});
    throw error;
  }
}

/** Cut the file at `length` (then write `data` there, if given), durably. */
async function rewrite(file: VfsFile, length: number, data?: Uint8Array): Promise<void> {
  await file.truncate(length);
  if (data !== undefined) await file.write(data, length);
  await file.datasync();
}

/**
 * For a stamp whose every byte is that of the version-1 stamp for `start` or of a lazy one
 * (version 3, or 2 written by older versions), and that is not whole: the lazy version, since
 * this is the in-place rewrite of that stamp as version 1, torn by a crash. Null otherwise. (A mix
 * that fits both lazy versions is read as 3: recovery treats them alike.)
 */
function tornStampRewrite(bytes: Uint8Array, start: number): number | null {
  if (bytes.length < INDEX_STAMP_BYTES) return null;
  const sealed = encodeIndexStamp(SEGMENT_MAGIC, start, LOG_FORMAT_VERSION);
  for (const version of [CHAINED_SEAL_VERSION, LAZY_SEAL_VERSION]) {
    const lazy = encodeIndexStamp(SEGMENT_MAGIC, start, version);
    let mix = true;
    for (let i = 0; i < INDEX_STAMP_BYTES && mix; i++) mix = bytes[i] === lazy[i] || bytes[i] === sealed[i];
    if (mix) return version;
  }
  return null;
}

/**
 * A header a crash interrupted: a prefix of the header it should be (either version, possibly empty), or zeros
 * that were never written, with no records after it.
 */
function isTornHeader(bytes: Uint8Array, start: number): boolean {
  if (allZero(bytes, 0)) return true;
  if (bytes.length >= INDEX_STAMP_BYTES) return false;
  return [LOG_FORMAT_VERSION, LAZY_SEAL_VERSION, CHAINED_SEAL_VERSION].some((version) => {
    const expected = encodeIndexStamp(SEGMENT_MAGIC, start, version);
    return bytes.every((byte, i) => byte === expected[i]);
  });
}

/**
 * Whether the defect found at `at` is what a crash leaves at the end of the last segment, rather
 * than damage to data that was once whole:
 * - a record cut short (header or payload) by the end of the file: the final write was torn;
 * - a damaged header with only zeros from there on: space allocated but never written;
 * - a bad checksum on a record that ends the file (zeros aside): the final write was torn inside
 *   its payload. (Bit rot in the very last record looks the same and cannot be told apart.)
 * A defect with any non-zero byte after it is corruption.
 */
function isTornTail(bytes: Uint8Array, at: number, defect: RecordDefect): boolean {
  switch (defect) {
    case 'short-header':
    case 'short-payload':
      return true;
    case 'bad-header':
      return allZero(bytes, at);
    case 'bad-checksum':
      return allZero(bytes, at + RECORD_HEADER_BYTES + recordPayloadLength(bytes, at));
  }
}

function allZero(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
